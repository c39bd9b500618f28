#!/usr/bin/env python3
"""bench_workspace: `vibn mcp workspace` against the DESIGN §9 targets (stdlib only).

    python3 scripts/bench_workspace.py --bin target/release/vibn --bench ../shared/bench --out .bench

Normally run by scripts/bench-workspace. Uses the shared harness (mcpbench.py, mktree.py, and
floor.py when present) so the figures compare with ../shared/reference/perf-baseline.md.
Writes one JSON object per measurement to OUT/results/workspace-<time>.jsonl and prints a
table of each figure beside its target.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

NEEDLE = "NEEDLE_TOKEN"
SMALL_FILE = "hello.txt"
# The tree mktree.py builds by default; the stamp records it, so a changed mktree rebuilds.
TREE_FILES, TREE_MB = 20000, 200


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def mcpbench(a, label, root, extra):
    """One mcpbench run; its JSON (stdout) is returned, its readable lines pass to stderr."""
    cmd = [sys.executable, str(a.bench / "mcpbench.py"), "--label", label, *extra,
           "--", a.bin, "mcp", "workspace", "--root", str(root)]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    out = json.loads(r.stdout)
    if r.returncode or out.get("error"):
        sys.exit(f"bench-workspace: mcpbench failed ({label}): {out.get('error')}")
    if out.get("call", {}).get("tool_errors"):
        sys.exit(f"bench-workspace: {label}: tool errors: {out['call']['first_error']}")
    return out


def make_small(root):
    """A small workspace like the anchors' fixture: 11 entries, one ~1 KB text file to read."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    lines = [f"line {i}: the quick brown fox jumps over the lazy dog" for i in range(1, 21)]
    (root / SMALL_FILE).write_text("\n".join(lines) + "\n")
    for i in range(10):
        (root / f"file{i}.txt").write_text(f"file {i}\n")


def ensure_tree(a, tree):
    stamp = tree.parent / (tree.name + ".stamp")
    want = f"mktree --files {TREE_FILES} --mb {TREE_MB}\n"
    if stamp.exists() and stamp.read_text() == want and tree.is_dir():
        log(f"bigtree: cached in {tree}")
        return
    log(f"bigtree: building {tree} with mktree.py (about 200 MB)")
    shutil.rmtree(tree, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    subprocess.run([sys.executable, str(a.bench / "mktree.py"), str(tree),
                    "--files", str(TREE_FILES), "--mb", str(TREE_MB)], check=True, stdout=sys.stderr)
    stamp.write_text(want)


def spawn_times(cmd, n, warmup=1):
    """Spawn-to-exit wall times in ms (stdout to /dev/null), after `warmup` discarded runs."""
    ms = []
    for i in range(warmup + n):
        t = time.perf_counter()
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        if i >= warmup:
            ms.append((time.perf_counter() - t) * 1e3)
        if rc not in (0, 1):  # rg: 1 = no match, still a completed search
            sys.exit(f"bench-workspace: {cmd[0]} exited {rc}")
    return ms


def find_median(o):
    """First 'median'-like number in floor.py's JSON, wherever it nests it."""
    if isinstance(o, dict):
        for k in ("median_ms", "median"):
            if isinstance(o.get(k), (int, float)):
                return float(o[k])
        for v in o.values():
            if (m := find_median(v)) is not None:
                return m
    return None


def floor_or_own(a, cmd, n, label):
    """Time `cmd` with floor.py (the baseline's tool) when shared/ has it, else with spawn_times."""
    floor = a.bench / "floor.py"
    if floor.exists():
        r = subprocess.run([sys.executable, str(floor), "-n", str(n), "--", *cmd],
                           stdout=subprocess.PIPE, text=True, check=True)
        lines = [l for l in r.stdout.splitlines() if l.strip().startswith("{")]
        raw = json.loads(lines[-1]) if lines else {}
        median = find_median(raw)
        if median is not None:
            return {"label": label, "cmd": cmd, "method": "floor.py", "median_ms": median, "raw": raw}
        log(f"{label}: could not read floor.py's output, timing it here instead")
    ms = spawn_times(cmd, n)
    return {"label": label, "cmd": cmd, "method": f"python spawn-to-exit, {n} runs after 1 warm-up",
            "median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms), "runs_ms": ms}


def search_check(a, tree):
    """search_code must do the same search as rg: same match count, not truncated."""
    sys.path.insert(0, str(a.bench))
    from mcpbench import Server  # the harness's own client, so nothing else is assumed
    srv = Server([a.bin, "mcp", "workspace", "--root", str(tree)], timeout=300)
    try:
        srv.initialize()
        res, _ = srv.request("tools/call", {"name": "search_code", "arguments": {"pattern": NEEDLE}})
    finally:
        srv.close()
    sc = res.get("structuredContent") or {}
    rg = subprocess.run(["rg", "-c", NEEDLE, str(tree)], stdout=subprocess.PIPE, text=True)
    rg_matches = sum(int(l.rsplit(":", 1)[1]) for l in rg.stdout.splitlines())
    check = {"label": "search_code-vs-rg-check", "search_code_matches": sc.get("match_count"),
             "search_code_files": len(sc.get("files", [])), "truncated": sc.get("truncated"),
             "rg_matches": rg_matches}
    if res.get("isError") or sc.get("match_count") != rg_matches or sc.get("truncated"):
        sys.exit(f"bench-workspace: search_code and rg disagree: {check}")
    return check


def verdict(value, target, higher_is_better=False):
    if value is None:
        return "n/a"
    if value >= target if higher_is_better else value <= target:
        return "ok"
    if higher_is_better:
        return f"MISSED: {value / target * 100:.0f}% of target"
    return f"MISSED: {value / target:.2f}x target"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--bench", required=True, type=Path, help="the shared bench/ folder")
    ap.add_argument("--out", required=True, type=Path, help="scratch + results folder (.bench)")
    a = ap.parse_args()
    a.bin = str(Path(a.bin).resolve())
    stamp = time.strftime("%Y%m%d-%H%M%S")
    results = a.out / "results"
    results.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    records = []

    # 1. Process and protocol costs on a small workspace: one mcpbench run covers them all.
    small = a.out / "small"
    make_small(small)
    main_run = mcpbench(a, "vibn-workspace", small,
                        ["--runs", "10", "--warmup", "1", "--list-n", "50", "-n", "200",
                         "--concurrent", "20", "--call", "read_file",
                         "--args", json.dumps({"path": SMALL_FILE})])
    records.append(main_run)

    # 2. The /bin/true anchor: what spawning any process costs on this machine right now.
    anchor = floor_or_own(a, ["/bin/true"], 200, "floor-/bin/true")
    records.append(anchor)

    # 3. Content search on the 20k-file / 200 MB tree against rg (page cache warmed first).
    tree = a.out / "bigtree"
    ensure_tree(a, tree)
    subprocess.run(["rg", "-c", NEEDLE, str(tree)], stdout=subprocess.DEVNULL)  # warm the cache
    check = search_check(a, tree)
    records.append(check)
    big = mcpbench(a, "vibn-workspace-bigtree", tree,
                   ["--runs", "1", "--list-n", "1", "-n", "5", "--timeout", "300",
                    "--call", "search_code", "--args", json.dumps({"pattern": NEEDLE})])
    records.append(big)
    rg = floor_or_own(a, ["rg", NEEDLE, str(tree)], 10, "rg-NEEDLE_TOKEN")
    records.append(rg)

    cold = main_run["cold_start_ms"]["median"]
    tl = main_run["tools_list_ms"]["median"]
    call = main_run["call"]["p50_ms"]
    pipe = main_run["concurrent"]["req_per_s"]
    rss = main_run["rss_peak_mb"]
    search = big["call"]["p50_ms"]
    ratio = search / rg["median_ms"]
    load_end = os.getloadavg()
    summary = {"label": "summary", "time": stamp, "bin": a.bin, "loadavg_start": load_start,
               "loadavg_end": load_end, "cold_start_ms": cold, "tools_list_ms": tl,
               "read_file_p50_ms": call, "pipelined_req_per_s": pipe, "rss_peak_mb": rss,
               "search_code_p50_ms": search, "rg_median_ms": rg["median_ms"],
               "search_over_rg": ratio, "true_spawn_ms": anchor["median_ms"]}
    records.append(summary)
    path = results / f"workspace-{stamp}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))

    c = main_run["cold_start_ms"]
    rows = [
        ("cold start to initialize (median of 10)", f"{cold:.2f} ms", "≤ 2 ms", verdict(cold, 2.0)),
        ("peak RSS (VmHWM)", f"{rss} MB", "≤ 6 MB", verdict(rss, 6.0)),
        ("tools/list (median of 50)", f"{tl:.3f} ms", "≤ 0.12 ms", verdict(tl, 0.12)),
        ("read_file small file p50 (n=200)", f"{call:.3f} ms", "≤ 0.10 ms", verdict(call, 0.10)),
        ("pipelined x20 tools/call read_file", f"{pipe:,.0f} req/s", "≥ 25,000 req/s",
         verdict(pipe, 25000, higher_is_better=True)),
        ("search_code NEEDLE_TOKEN p50 (n=5)", f"{search:.1f} ms", "-", ""),
        ("rg NEEDLE_TOKEN (spawn to exit, median)", f"{rg['median_ms']:.1f} ms", "-", ""),
        ("search_code / rg", f"{ratio:.2f}x", "≤ 1.5x", verdict(ratio, 1.5)),
    ]
    w = max(len(r[0]) for r in rows)
    print(f"\nvibn mcp workspace — {stamp}, {a.bin}")
    print(f"load average (1/5/15 min) at start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}, "
          f"at end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}; {os.cpu_count()} CPUs\n")
    vw = max(len("verdict"), *(len(r[3]) for r in rows))
    print(f"| {'metric':<{w}} | {'measured':>14} | {'DESIGN §9 target':<16} | {'verdict':<{vw}} |")
    print(f"|{'-' * (w + 2)}|{'-' * 16}|{'-' * 18}|{'-' * (vw + 2)}|")
    for name, value, target, v in rows:
        print(f"| {name:<{w}} | {value:>14} | {target:<16} | {v:<{vw}} |")
    print(f"\ncontext: cold start min/max {c['min']:.2f}/{c['max']:.2f} ms; /bin/true spawn "
          f"{anchor['median_ms']:.2f} ms ({anchor['method']}); read_file p99 "
          f"{main_run['call']['p99_ms']:.3f} ms; tools/list first {main_run['tools_list_ms']['first']:.2f} ms")
    print(f"         search_code found {check['search_code_matches']} matches in "
          f"{check['search_code_files']} files (rg: {check['rg_matches']}); peak RSS after the "
          f"big search {big['rss_peak_mb']} MB; protocol {main_run['protocol_version']}")
    print(f"raw JSON lines: {path}")


if __name__ == "__main__":
    main()
