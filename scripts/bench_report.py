"""bench_report: the markdown tables scripts/bench.py prints — every figure beside the floor
and the best anchor of the same run, the DESIGN §9 target and the verdict."""

NEEDLE = "NEEDLE_TOKEN"


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    digits = 3 if abs(v) < 1 else 2 if abs(v) < 10 else 1 if abs(v) < 1000 else 0
    return f"{v:,.{digits}f}{unit}"


def ratio(v, base):
    return None if v is None or not base else v / base


def verdict(value, limit, higher_is_better=False):
    if value is None or limit is None:
        return "-"
    ok = value >= limit if higher_is_better else value <= limit
    return "pass" if ok else "MISS"


# (metric name, getter, unit, higher is better)
METRICS = [
    ("cold start median", lambda r: r.get("cold_start_ms", {}).get("median"), " ms", False),
    ("tools/list median", lambda r: r.get("tools_list_ms", {}).get("median"), " ms", False),
    ("call p50", lambda r: r.get("call", {}).get("p50_ms"), " ms", False),
    ("pipelined x20", lambda r: r.get("concurrent", {}).get("req_per_s"), " req/s", True),
    ("peak RSS after the run", lambda r: r.get("rss_peak_mb"), " MB", False),
    ("peak RSS at initialize", lambda r: r.get("rss_init_mb"), " MB", False),
]


def target_for(metric, value, floor_value, local):
    """(target text, verdict) from DESIGN §9 for one vibn figure."""
    if metric == "cold start median":
        return "≤ 1.6× floor", verdict(ratio(value, floor_value), 1.6)
    if metric == "tools/list median":
        return "≤ 0.15 ms", verdict(value, 0.15)
    if metric == "call p50":
        return ("≤ 1.2× floor", verdict(ratio(value, floor_value), 1.2)) if local else \
            ("- (upstream HTTP call)", "-")
    if metric == "pipelined x20":
        return ("≥ 0.6× floor", verdict(ratio(value, floor_value), 0.6, True)) if local else \
            ("- (upstream HTTP call)", "-")
    if metric == "peak RSS after the run":
        return "≤ 7 MB", verdict(value, 7.0)
    if metric == "peak RSS at initialize":
        return "≤ 6 MB", verdict(value, 6.0)
    return "-", "-"


def print_overview(records):
    print("| server | tool | cold start ms | tools/list ms | call p50 / p99 ms | pipelined x20 req/s "
          "| peak RSS MB (init / after) | tools |")
    print("|---|---|---|---|---|---|---|---|")
    for r in records:
        if r.get("error"):
            print(f"| {r['label']} | {r.get('tool', '-')} | not measured: {r['error']} | | | | | |")
            continue
        c = r.get("call", {})
        print(f"| {r['label']} | {c.get('tool', '-')} | {fmt(r['cold_start_ms']['median'])} "
              f"| {fmt(r.get('tools_list_ms', {}).get('median'))} "
              f"| {fmt(c.get('p50_ms'))} / {fmt(c.get('p99_ms'))} "
              f"| {fmt(r.get('concurrent', {}).get('req_per_s'))} "
              f"| {fmt(r.get('rss_init_mb'))} / {fmt(r.get('rss_peak_mb'))} | {r.get('tool_count', '-')} |")


def print_targets(floor, anchors, vibn):
    print("| vibn server | metric | vibn | floor | × floor | best anchor (same run) | × anchor "
          "| DESIGN §9 target | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rec, local in vibn:
        if rec.get("error"):
            print(f"| {rec['label']} | all | not measured: {rec['error']} | | | | | | MISS |")
            continue
        for name, get, unit, higher in METRICS:
            v, fv = get(rec), get(floor) if floor else None
            if v is None:
                continue
            known = [(get(x), x["label"]) for x in anchors if get(x) is not None]
            best = (max if higher else min)(known) if known else (None, "")
            text, ok = target_for(name, v, fv, local)
            print(f"| {rec['label']} | {name} | {fmt(v, unit)} | {fmt(fv, unit)} | {fmt(ratio(v, fv), '×')} "
                  f"| {best[1]} {fmt(best[0], unit)} | {fmt(ratio(v, best[0]), '×')} | {text} | {ok} |")


def print_others(search, pipe_rss, benches, serve):
    print("| measure | vibn | anchor (same run) | ratio | DESIGN §9 target | verdict |")
    print("|---|---|---|---|---|---|")
    check, big, rg = search
    if check.get("error") or big.get("error"):
        print(f"| search_code {NEEDLE}, 20k files / 200 MB | not measured: "
              f"{check.get('error') or big.get('error')} | | | ≤ 1.5× rg | MISS |")
    else:
        s = big["call"]["p50_ms"]
        print(f"| search_code {NEEDLE}, 20k files / 200 MB (p50, {check['rg_matches']} matches) "
              f"| {fmt(s, ' ms')} | rg spawn-to-exit {fmt(rg['median_ms'], ' ms')} "
              f"| {fmt(s / rg['median_ms'], '×')} | ≤ 1.5× rg | {verdict(s / rg['median_ms'], 1.5)} |")
    if pipe_rss.get("error"):
        print(f"| workspace peak RSS under pipelined load | not measured: {pipe_rss['error']} | | | ≤ 7 MB | MISS |")
    else:
        mb = pipe_rss.get("peak_rss_mb")
        print(f"| workspace peak RSS, {pipe_rss['n']:,} pipelined read_file | {fmt(mb, ' MB')} | - | - "
              f"| ≤ 7 MB | {verdict(mb, 7.0)} |")
    f = benches["fanout"]
    if f.get("rows"):
        for row in f["rows"]:
            r1 = row["measured_ms"] / row["ideal_at_fan_out_ms"]
            print(f"| list_all_issues, {row['repos']} repos, 40 ms injected (median) "
                  f"| {fmt(row['measured_ms'], ' ms')} | ideal at the fan-out bound "
                  f"{fmt(row['ideal_at_fan_out_ms'], ' ms')} (unbounded {fmt(row['ideal_ms'], ' ms')}) "
                  f"| {fmt(r1, '×')} | ≤ 1.3× ideal | {verdict(r1, 1.3)} |")
    else:
        print(f"| fan-out vs ideal concurrent time | not measured: {f.get('error') or f.get('skipped')} "
              f"| | | ≤ 1.3× ideal | - |")
    k = benches["keystore"]
    if "validate_p50_us" in k:
        print(f"| key validation p50 (p99 {fmt(k['validate_p99_us'])} µs; async façade "
              f"{fmt(k['facade_p50_us'])} µs) | {fmt(k['validate_p50_us'], ' µs')} "
              f"| SQLite point lookup {fmt(k['anchor_sqlite_lookup_p50_us'], ' µs')} "
              f"| {fmt(ratio(k['validate_p50_us'], k['anchor_sqlite_lookup_p50_us']), '×')} "
              f"| ≤ 50 µs | {verdict(k['validate_p50_us'], 50)} |")
    else:
        print(f"| key validation | not measured: {k.get('error') or k.get('skipped')} | | | ≤ 50 µs | - |")
    e = benches["exec"]
    if "sandboxed_p50_ms" in e:
        over = e["sandboxed_p50_ms"] - e["unconfined_p50_ms"]
        print(f"| sandboxed execute_command{{echo hi}} p50 over unconfined "
              f"({fmt(e['sandboxed_p50_ms'])} vs {fmt(e['unconfined_p50_ms'])} ms) | +{fmt(over, ' ms')} "
              f"| bare sh -c spawn {fmt(e['bare_p50_ms'], ' ms')} "
              f"| {fmt(ratio(e['sandboxed_p50_ms'], e['bare_p50_ms']), '×')} | ≤ +5 ms | {verdict(over, 5.0)} |")
    else:
        print(f"| sandboxed execute_command | not measured: {e.get('error') or e.get('skipped')} "
              f"| | | ≤ +5 ms | - |")
    raw = serve.get("raw") or {}
    if raw.get("all"):
        a, st, cross = raw["all"], raw.get("stdio") or {}, raw.get("cross_tenant")
        rps, p99 = a.get("req_per_s"), a.get("p99_ms")
        ok = verdict(rps, 2000, True) == "pass" and verdict(p99, 20.0) == "pass" and cross == 0
        seen = (f"seen by the other replica {fmt(raw.get('revocation_ms'), ' ms')} later"
                if raw.get("revocation_seen") else "NOT seen by the other replica")
        print(f"| vibn serve, {raw.get('clients')} clients, {raw.get('workspaces')} workspaces, 2 replicas "
              f"on {raw.get('backend')}, MCP + REST (p50 {fmt(a.get('p50_ms'))} ms, p99 {fmt(p99)} ms; "
              f"cross-tenant {cross}; a revoked key {seen}) | {fmt(rps, ' req/s')} "
              f"| stdio control plane {fmt(st.get('req_per_s'), ' req/s')} (p99 {fmt(st.get('p99_ms'))} ms) "
              f"| {fmt(ratio(rps, st.get('req_per_s')), '×')} "
              f"| ≥ 2k req/s, p99 ≤ 20 ms, 0 cross-tenant | {'pass' if ok else 'MISS'} |")
    else:
        why = serve.get("error") or serve.get("skipped")
        print(f"| vibn serve under load | not measured: {why} | | | ≥ 2k req/s, p99 ≤ 20 ms, 0 cross-tenant | - |")
