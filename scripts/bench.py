#!/usr/bin/env python3
"""bench: all six vibn MCP servers beside the floor and the anchor servers, in one run (stdlib only).

    python3 scripts/bench.py --bin target/release/vibn --bench ../shared/bench --out .bench [--quick]

Normally run by scripts/bench (which builds vibn and installs rg). In one run, with the shared
harness (mcpbench.py; mktree.py for the 20k-file tree), it:

  * installs the anchors into OUT/anchors (npm: @modelcontextprotocol/server-filesystem and
    server-memory; a venv with mcp-server-git from PyPI) and builds the floor (bench/floor, a
    bare rmcp server with one tool) — each once, kept for the next run;
  * measures the floor, the three anchors and the six vibn servers the same way: cold start,
    tools/list, tools/call p50/p99, pipelined x20 and peak RSS. gitea, coolify, platform,
    agent and control-plane run pinned to a provisioned workspace against the stand-ins of
    `vibn sandbox up`; workspace runs on a local folder like the filesystem anchor;
  * search_code against rg on the 20k-file / 200 MB tree; peak RSS under 20k pipelined calls
    (scripts/pipeline_rss.py); `cargo bench` fanout, keystore and exec; and `vibn serve` under
    load through scripts/serve-load.

Prints markdown tables (every figure beside the floor and the best anchor of the same run, the
DESIGN §9 target and the verdict) and writes one JSON object per measurement to
OUT/results/bench-<time>.jsonl. The fixtures follow ../shared/reference/perf-baseline.md.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))
from bench_report import NEEDLE, print_others, print_overview, print_targets  # noqa: E402
from smoke.standins import Sandbox, StepFailed  # noqa: E402  (one stand-in launcher for all)

# The anchors, pinned to the versions perf-baseline.md measured.
NPM_ANCHORS = {"@modelcontextprotocol/server-filesystem": "2026.8.31",
               "@modelcontextprotocol/server-memory": "2026.8.31"}
PIP_ANCHOR = "mcp-server-git==2026.10.19"
FLOOR_DIR = REPO / "bench" / "floor"
FLOOR_BIN = FLOOR_DIR / "target" / "release" / "vibn-bench-floor"
# What `vibn sandbox up` prints once the demo workspace is provisioned.
UP_KEYS = ["GITEA_API_URL", "GITEA_API_TOKEN", "GITEA_USERNAME", "COOLIFY_API_URL",
           "COOLIFY_API_TOKEN", "VIBN_SEARXNG_URL", "AGENT_RUNNER_URL", "VIBN_KEYSTORE",
           "VIBN_SECRETS_KEY", "VIBN_API_KEY", "WORKSPACE_ROOT"]
SMALL_FILE = "hello.txt"
TREE_FILES, TREE_MB = 20000, 200
SERVE_LOAD = SCRIPTS / "serve-load"

# Each vibn server's measured tool: cheap and read-only. `local` tools touch only the machine
# (the DESIGN's call and pipelining targets are for those): platform's and agent's read the
# keystore (list_jobs asks the runner only about unfinished jobs, and the fresh workspace has
# none). The others make a real HTTP call to a stand-in, so their latency is mostly its.
VIBN_SERVERS = [
    # (server, tool, args, local)
    ("workspace", "read_file", {"path": SMALL_FILE}, True),
    ("platform", "list_memory", {}, True),
    ("agent", "list_jobs", {}, True),
    ("gitea", "list_repos", {}, False),
    ("coolify", "list_projects", {}, False),
    ("control-plane", "apps_list", {}, False),
]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(cmd, **kw):
    """A set-up command whose output goes to stderr; raises on failure."""
    log("+ " + " ".join(str(c) for c in cmd))
    return subprocess.run([str(c) for c in cmd], check=True, stdout=sys.stderr, **kw)


# ---------------------------------------------------------------- installs and fixtures

def install_anchors(out):
    """→ {anchor: error message} for the anchors that could not be installed."""
    failed = {}
    npm_dir = out / "anchors" / "npm"
    want = " ".join(f"{p}@{v}" for p, v in NPM_ANCHORS.items())
    stamp = npm_dir / ".installed"
    if not (stamp.exists() and stamp.read_text() == want):
        try:
            npm_dir.mkdir(parents=True, exist_ok=True)
            run(["npm", "install", "--prefix", npm_dir, "--no-audit", "--no-fund",
                 "--loglevel=error", *want.split()])
            stamp.write_text(want)
        except (OSError, subprocess.CalledProcessError) as e:
            failed["filesystem"] = failed["memory"] = f"npm install failed: {e}"
    venv = out / "anchors" / "venv-git"
    stamp = venv / ".installed"
    if not (stamp.exists() and stamp.read_text() == PIP_ANCHOR):
        try:
            run([sys.executable, "-m", "venv", venv])
            run([venv / "bin" / "pip", "install", "-q", PIP_ANCHOR])
            stamp.write_text(PIP_ANCHOR)
        except (OSError, subprocess.CalledProcessError) as e:
            failed["git"] = f"pip install {PIP_ANCHOR} failed: {e}"
    return failed


def build_floor():
    run(["cargo", "build", "--release", "--locked", "--manifest-path", FLOOR_DIR / "Cargo.toml"],
        stderr=sys.stderr)
    return FLOOR_BIN


def make_small(root):
    """11 entries, one ~1 KB text file: the filesystem anchor's fixture, and vibn workspace's."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    lines = [f"line {i}: the quick brown fox jumps over the lazy dog" for i in range(1, 21)]
    (root / SMALL_FILE).write_text("\n".join(lines) + "\n")
    for i in range(10):
        (root / f"file{i}.txt").write_text(f"file {i}\n")


def make_memory(path):
    """A 10-entity knowledge graph (about 2 KB from read_graph) for server-memory."""
    rows = [{"type": "entity", "name": f"service-{i}", "entityType": "service",
             "observations": [f"runs on port {8000 + i}"]} for i in range(10)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def make_repo(repo):
    """A 20-file git repository with one modified and one untracked file, for git_status."""
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    for i in range(20):
        (repo / f"f{i:02d}.txt").write_text(f"file {i}\n")
    env = os.environ | {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@invalid",
                        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@invalid"}
    for cmd in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "fixture"]):
        subprocess.run(["git", *cmd], cwd=repo, env=env, check=True)
    (repo / "f00.txt").write_text("file 0, changed\n")
    (repo / "untracked.txt").write_text("new\n")


def ensure_tree(bench, tree):
    stamp = tree.parent / (tree.name + ".stamp")
    want = f"mktree --files {TREE_FILES} --mb {TREE_MB}\n"
    if stamp.exists() and stamp.read_text() == want and tree.is_dir():
        log(f"bigtree: cached in {tree}")
        return
    log(f"bigtree: building {tree} with mktree.py (about 200 MB)")
    shutil.rmtree(tree, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    run([sys.executable, bench / "mktree.py", tree, "--files", TREE_FILES, "--mb", TREE_MB])
    stamp.write_text(want)


# ---------------------------------------------------------------- measurements

def mcpbench(a, label, cmd, extra, env=None):
    """One mcpbench run → its JSON (with `error` set when it failed or a call was an isError)."""
    full = [sys.executable, str(a.bench / "mcpbench.py"), "--label", label, *extra, "--", *map(str, cmd)]
    r = subprocess.run(full, stdout=subprocess.PIPE, text=True, env=env)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        out = {"label": label, "error": f"mcpbench printed no JSON (exit {r.returncode})"}
    if not out.get("error") and out.get("call", {}).get("tool_errors"):
        out["error"] = f"tool errors: {out['call']['first_error']}"
    if out.get("error"):
        log(f"{label}: FAILED: {out['error']}")
    return out


def server_runs(a):
    """mcpbench options for the full measurement of one server."""
    if a.quick:
        return ["--runs", "3", "--warmup", "1", "--list-n", "10", "-n", "50", "--concurrent", "20"]
    return ["--runs", "10", "--warmup", "1", "--list-n", "50", "-n", "200", "--concurrent", "20"]


def measure_server(a, label, cmd, tool, args, env=None, kind="", init_rss=False):
    extra = server_runs(a) + ["--call", tool, "--args", json.dumps(args)]
    rec = mcpbench(a, label, cmd, extra, env) | {"kind": kind}
    if init_rss and not rec.get("error"):
        # A fresh process that only answers initialize: the at-initialize RSS figure.
        r = mcpbench(a, label + "-init", cmd, ["--runs", "1", "--warmup", "0", "--list-n", "0"], env)
        rec["rss_init_mb"] = r.get("rss_peak_mb")
    return rec


def clean_env(home, **variables):
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)} | variables


def spawn_times(cmd, n, warmup=1):
    """Spawn-to-exit wall times in ms (stdout to /dev/null), after `warmup` discarded runs."""
    ms = []
    for i in range(warmup + n):
        t = time.perf_counter()
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        if i >= warmup:
            ms.append((time.perf_counter() - t) * 1e3)
        if rc not in (0, 1):  # rg: 1 = no match, still a completed search
            raise RuntimeError(f"{cmd[0]} exited {rc}")
    return ms


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
    rg_matches = sum(int(line.rsplit(":", 1)[1]) for line in rg.stdout.splitlines())
    check = {"label": "search_code-vs-rg-check", "search_code_matches": sc.get("match_count"),
             "search_code_files": len(sc.get("files", [])), "truncated": sc.get("truncated"),
             "rg_matches": rg_matches}
    if res.get("isError") or sc.get("match_count") != rg_matches or sc.get("truncated"):
        check["error"] = "search_code and rg disagree"
    return check


def measure_search(a):
    tree = a.out / "bigtree"
    ensure_tree(a.bench, tree)
    subprocess.run(["rg", "-c", NEEDLE, str(tree)], stdout=subprocess.DEVNULL)  # warm the cache
    check = search_check(a, tree)
    n = "3" if a.quick else "5"
    big = mcpbench(a, "vibn-workspace-bigtree", [a.bin, "mcp", "workspace", "--root", tree],
                   ["--runs", "1", "--list-n", "1", "-n", n, "--timeout", "300",
                    "--call", "search_code", "--args", json.dumps({"pattern": NEEDLE})])
    rg_ms = spawn_times(["rg", NEEDLE, str(tree)], 5 if a.quick else 10)
    rg = {"label": "rg-NEEDLE_TOKEN", "median_ms": statistics.median(rg_ms), "runs_ms": rg_ms}
    return check, big, rg


def measure_pipeline_rss(a):
    n = "5000" if a.quick else "20000"
    r = subprocess.run([sys.executable, str(SCRIPTS / "pipeline_rss.py"), "--bin", a.bin, "-n", n],
                       stdout=subprocess.PIPE, text=True, timeout=600)
    try:
        rec = {"label": "workspace-pipeline-rss", "n": int(n)} | json.loads(r.stdout)
    except ValueError:
        return {"label": "workspace-pipeline-rss", "error": f"pipeline_rss.py exit {r.returncode}"}
    if r.returncode or not rec.get("all_answered"):
        rec["error"] = f"not every call was answered: {rec.get('answers')}, exit {rec.get('exit_code')}"
    return rec


def cargo_bench(name):
    """`cargo bench --bench NAME` → its stdout (the table), or raises with the reason."""
    log(f"+ cargo bench --bench {name}")
    r = subprocess.run(["cargo", "bench", "--locked", "--bench", name], cwd=REPO,
                       stdout=subprocess.PIPE, stderr=sys.stderr, text=True, timeout=3600)
    if r.returncode:
        raise RuntimeError(f"cargo bench --bench {name} exited {r.returncode}")
    log(r.stdout)
    return r.stdout


def parse_fanout(text):
    """Rows `repos ideal measured ratio bounded ratio` → list of dicts."""
    rows = []
    for m in re.finditer(r"^\s*(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x\s+([\d.]+)\s+([\d.]+)x", text, re.M):
        repos, ideal, measured, _, bounded, _ = m.groups()
        rows.append({"repos": int(repos), "ideal_ms": float(ideal), "measured_ms": float(measured),
                     "ideal_at_fan_out_ms": float(bounded)})
    if not rows:
        raise RuntimeError("no result rows in the fanout bench's output")
    return {"label": "fanout", "rows": rows}


def parse_keystore(text):
    def p50(name):
        m = re.search(rf"^{re.escape(name)}\s+([\d.]+)\s+([\d.]+)", text, re.M)
        if not m:
            raise RuntimeError(f"no '{name}' row in the keystore bench's output")
        return float(m.group(1)), float(m.group(2))
    valid = p50("validate_workspace_key (valid key)")
    return {"label": "keystore", "validate_p50_us": valid[0], "validate_p99_us": valid[1],
            "facade_p50_us": p50("  … through the async façade (blocking pool)")[0],
            "unknown_p50_us": p50("validate_workspace_key (unknown key)")[0],
            "anchor_sqlite_lookup_p50_us": p50("anchor: SQLite point lookup by primary key")[0]}


def parse_exec(text):
    def row(name):
        m = re.search(rf"^\| {re.escape(name)} \| ([\d.]+) \| ([\d.]+) \|", text, re.M)
        if not m:
            raise RuntimeError(f"no '{name}' row in the exec bench's output")
        return float(m.group(1))
    return {"label": "exec", "bare_p50_ms": row("bare sh -c spawn (anchor)"),
            "unconfined_p50_ms": row("execute_command, --exec-sandbox off"),
            "sandboxed_p50_ms": row("execute_command, sandboxed")}


def measure_cargo_benches(a):
    out = {}
    for name, parse in (("fanout", parse_fanout), ("keystore", parse_keystore), ("exec", parse_exec)):
        if a.no_cargo_benches:
            out[name] = {"label": name, "skipped": "--no-cargo-benches"}
            continue
        try:
            out[name] = parse(cargo_bench(name))
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            out[name] = {"label": name, "error": str(e)}
    return out


def stats_with_req_per_s(o, path=()):
    """Every object in serve-load's JSON that carries `req_per_s`, with the keys leading to it."""
    if isinstance(o, dict):
        if "req_per_s" in o:
            yield "/".join(path) or "all", o
        for k, v in o.items():
            if isinstance(v, (dict, list)):
                yield from stats_with_req_per_s(v, (*path, str(k)))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            name = v.get("endpoint") or v.get("name") if isinstance(v, dict) else None
            yield from stats_with_req_per_s(v, (*path, str(name or i)))


def startup_order_share(a):
    """How much of link/startup.order the measured build has (its linker map beside it)."""
    vibn_map = Path(a.bin).parent / "vibn.map"
    if not vibn_map.exists():
        return {"error": f"{vibn_map} is missing (a release build writes it)"}
    r = subprocess.run([sys.executable, str(SCRIPTS / "startup_order.py"), "--check", "--map", str(vibn_map)],
                       stdout=subprocess.PIPE, text=True)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"error": f"startup_order.py --check exit {r.returncode}"}


def measure_serve(a):
    """`vibn serve` under load: scripts/serve-load's JSON, when that script exists."""
    if not (SERVE_LOAD.exists() and os.access(SERVE_LOAD, os.X_OK)):
        return {"label": "serve-load", "skipped": "scripts/serve-load missing"}
    env = os.environ | {"VIBN_BIN": a.bin} | ({"BENCH_QUICK": "1"} if a.quick else {})
    log(f"+ {SERVE_LOAD}")
    r = subprocess.run([str(SERVE_LOAD)], stdout=subprocess.PIPE, text=True, env=env, timeout=900)
    try:
        raw = json.loads(r.stdout)
    except ValueError:
        return {"label": "serve-load", "error": f"scripts/serve-load exit {r.returncode}, no JSON"}
    endpoints = dict(stats_with_req_per_s(raw))
    rec = {"label": "serve-load", "raw": raw, "endpoints": endpoints}
    if r.returncode:
        rec["error"] = f"scripts/serve-load exit {r.returncode}"
    elif not endpoints:
        rec["error"] = "scripts/serve-load printed no object with req_per_s"
    return rec


# ---------------------------------------------------------------- the run

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="the vibn binary (vibn-sandbox beside it)")
    ap.add_argument("--bench", required=True, type=Path, help="the shared bench/ folder")
    ap.add_argument("--out", required=True, type=Path, help="scratch, anchors and results (.bench)")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    ap.add_argument("--no-cargo-benches", action="store_true",
                    help="skip `cargo bench` fanout, keystore and exec (they build in the bench profile)")
    a = ap.parse_args()
    a.bin = str(Path(a.bin).resolve())
    a.out = a.out.resolve()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (a.out / "results").mkdir(parents=True, exist_ok=True)
    t0, load_start = time.monotonic(), os.getloadavg()

    failed_installs = install_anchors(a.out)
    floor_bin = build_floor()
    fx = a.out / "fixtures"
    make_small(fx / "small")
    make_memory(fx / "memory.jsonl")
    make_repo(fx / "repo")
    home = fx / "home"
    home.mkdir(exist_ok=True)
    npm = a.out / "anchors" / "npm" / "node_modules" / "@modelcontextprotocol"
    small, repo = fx / "small", fx / "repo"

    records = []
    floor = measure_server(a, "floor (bare rmcp, bench/floor)", [floor_bin], "echo", {"text": "hi"},
                           clean_env(home), "floor", init_rss=True)
    records.append(floor)
    anchor_specs = [
        ("filesystem", "filesystem (node, npm)",
         ["node", npm / "server-filesystem" / "dist" / "index.js", small], "list_directory",
         {"path": str(small)}, clean_env(home)),
        ("memory", "memory (node, npm)",
         ["node", npm / "server-memory" / "dist" / "index.js"], "read_graph", {},
         clean_env(home, MEMORY_FILE_PATH=str(fx / "memory.jsonl"))),
        ("git", "mcp-server-git (python, PyPI)",
         [a.out / "anchors" / "venv-git" / "bin" / "mcp-server-git", "--repository", repo],
         "git_status", {"repo_path": str(repo)}, clean_env(home)),
    ]
    anchors = []
    for key, label, cmd, tool, args, env in anchor_specs:
        if key in failed_installs:
            rec = {"label": label, "kind": "anchor", "error": failed_installs[key], "tool": tool}
        else:
            rec = measure_server(a, label, cmd, tool, args, env, "anchor", init_rss=True)
        records.append(rec)
        if not rec.get("error"):
            anchors.append(rec)

    vibn = []
    with tempfile.TemporaryDirectory(prefix="vibn-bench-") as tmp:
        try:
            up = Sandbox(a.bin, Path(tmp), "up", [], UP_KEYS, wait_s=120)
        except StepFailed as e:
            up, up_error = None, f"vibn sandbox up: {e}"
        try:
            for server, tool, args, local in VIBN_SERVERS:
                label = f"vibn {server}"
                if server == "workspace":
                    cmd, env = [a.bin, "mcp", "workspace", "--root", small], clean_env(home)
                elif up is None:
                    rec = {"label": label, "kind": "vibn", "tool": tool, "error": up_error}
                    records.append(rec)
                    vibn.append((rec, local))
                    continue
                else:
                    cmd = [a.bin, "mcp", server]
                    env = clean_env(home, **{k: v for k, v in up.env.items() if k != "WORKSPACE_ROOT"})
                rec = measure_server(a, label, cmd, tool, args, env, "vibn", init_rss=True)
                records.append(rec)
                vibn.append((rec, local))
        finally:
            if up is not None:
                up.stop()

    search = measure_search(a)
    records += list(search)
    pipe_rss = measure_pipeline_rss(a)
    records.append(pipe_rss)
    benches = measure_cargo_benches(a)
    records += list(benches.values())
    serve = measure_serve(a)
    records.append(serve)

    order = startup_order_share(a)
    load_end = os.getloadavg()
    spawn = statistics.median(spawn_times(["/bin/true"], 50))
    summary = {"label": "summary", "time": stamp, "bin": a.bin, "quick": a.quick, "cpus": os.cpu_count(),
               "loadavg_start": load_start, "loadavg_end": load_end, "true_spawn_ms": spawn,
               "seconds": time.monotonic() - t0, "bin_bytes": os.path.getsize(a.bin),
               "floor_bytes": os.path.getsize(floor_bin) if Path(floor_bin).exists() else None,
               "startup_order": order}
    records.append(summary)
    path = a.out / "results" / f"bench-{stamp}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))

    servers = [floor, *[r for r in records if r.get("kind") == "anchor"], *[r for r, _ in vibn]]
    print(f"\n## vibn benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
          f"{' (--quick)' if a.quick else ''}\n")
    print(f"{os.cpu_count()} CPUs; load average (1/5/15 min) {' '.join(f'{x:.2f}' for x in load_start)} "
          f"at the start, {' '.join(f'{x:.2f}' for x in load_end)} at the end; /bin/true spawns in "
          f"{spawn:.2f} ms; {summary['seconds']:.0f} s in all. Binary size: vibn "
          f"{summary['bin_bytes'] / 2**20:.2f} MiB, the floor "
          f"{(summary['floor_bytes'] or 0) / 2**20:.2f} MiB (both stripped). Start-up layout "
          f"(link/startup.order): {order.get('found', '?')} of {order.get('listed', '?')} functions "
          f"found in this build{'' if order.get('share', 0) >= 0.9 else ' — STALE, run scripts/startup-order'}.\n")
    print("### Every server, same harness, same run\n")
    print(f"Anchors: {', '.join(f'{p}@{v}' for p, v in NPM_ANCHORS.items())} (npm), {PIP_ANCHOR} (PyPI); "
          "fixtures as in perf-baseline.md (an 11-entry folder, a 10-entity graph, a 20-file repository "
          "with one modified and one untracked file).\n")
    print_overview(servers)
    print("\n### vibn against the floor, the anchors and DESIGN §9\n")
    print("The floor is bench/floor (bare rmcp 3.9, one `echo` tool, vibn's release profile). The best "
          "anchor is the best of the three anchor servers on that metric in this run. Call and "
          "pipelining targets apply to tools that stay on the machine (workspace reads a file; platform "
          "and agent, pinned, read the keystore); gitea's, coolify's and control-plane's tools each "
          "make a real HTTP call to a stand-in of `vibn sandbox up`.\n")
    print_targets(floor if not floor.get("error") else None, anchors, vibn)
    print("\n### Search, fan-out, keys, exec, serve\n")
    print_others(search, pipe_rss, benches, serve)
    print(f"\nraw JSON lines: {path}")
    return 1 if any(r.get("error") for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
