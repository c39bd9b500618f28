#!/usr/bin/env python3
"""startup_order: write link/startup.order, the functions each vibn MCP server runs first (stdlib only).

    python3 scripts/startup_order.py --bin target/release/vibn --map FILE [--out link/startup.order]
    python3 scripts/startup_order.py --check --map target/release/vibn.map   # how much still applies

Normally run by scripts/startup-order, which links vibn with VIBN_LINK_MAP=FILE first. Each of
the six servers runs under valgrind's lackey tool (every superblock it enters is logged with
its address) while a client sends it what a real session starts with: initialize, the
initialized notification, tools/list, its cheap read-only tool twice and then 20 calls
pipelined, a call with bad arguments, an unknown tool and a malformed line. The addresses are matched to the linker
map's input sections (one per function: rustc and the cc crate both emit function sections),
and written in two parts, what ran up to the initialize answer and what ran after it, each
grouped by the set of servers that ran it (the most widely shared first). build.rs hands
the file to lld (--symbol-ordering-file), which then lays those functions out first and
together, so a server's start touches a few hundred KB of code instead of pages all over the
binary's text (the kernel maps 64 KB around each page touched).
"""
import argparse
import bisect
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
# Code chosen by CPU feature detection that valgrind cannot trace: it reports a CPU without
# SHA extensions (so a traced run hashes with sha2's portable code, a real one with its x86
# code), and the detection itself runs once. All of it together is 3 KB; it goes first.
NATIVE_ONLY = re.compile(r"x86_sha|sha2(56|512)\dx86|cpuid|xgetbv|get_selected_backend")
sys.path.insert(0, str(SCRIPTS))
from smoke.standins import Sandbox  # noqa: E402

UP_KEYS = ["GITEA_API_URL", "GITEA_API_TOKEN", "GITEA_USERNAME", "COOLIFY_API_URL",
           "COOLIFY_API_TOKEN", "VIBN_SEARXNG_URL", "AGENT_RUNNER_URL", "VIBN_KEYSTORE",
           "VIBN_SECRETS_KEY", "VIBN_API_KEY", "WORKSPACE_ROOT"]
# (server, a cheap read-only tool, its arguments): the tools scripts/bench measures.
SERVERS = [
    ("workspace", "read_file", {"path": "hello.txt"}),
    ("platform", "list_memory", {}),
    ("agent", "list_jobs", {}),
    ("gitea", "list_repos", {}),
    ("coolify", "list_projects", {}),
    ("control-plane", "apps_list", {}),
]
# An input section in the map: "VMA LMA SIZE ALIGN        file:(.text[.prefix].symbol)".
SECTION = re.compile(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+\S.*:\((\.text[^)]*)\)$")
TEXT_PREFIXES = (".text.unlikely.", ".text.hot.", ".text.startup.", ".text.exit.", ".text.split.", ".text.")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def read_map(path):
    """→ (sorted section starts, [(start, end, symbol or None)]) for the .text input sections."""
    sections = []
    for line in open(path, encoding="utf-8", errors="replace"):
        m = SECTION.match(line)
        if not m:
            continue
        start, size, name = int(m[1], 16), int(m[2], 16), m[3]
        symbol = None
        for prefix in TEXT_PREFIXES:
            if name.startswith(prefix):
                symbol = name[len(prefix):]
                break
        if size:
            sections.append((start, start + size, symbol))
    sections.sort()
    return [s for s, _, _ in sections], sections


def load_base(pid, binary):
    """The address the binary's first byte is mapped at in process `pid` (valgrind's own maps)."""
    real = os.path.realpath(binary)
    for line in open(f"/proc/{pid}/maps"):
        parts = line.split()
        if len(parts) >= 6 and parts[5] == real and int(parts[2], 16) == 0:
            return int(parts[0].split("-")[0], 16)
    raise RuntimeError(f"{real} is not mapped in process {pid}")


def session(server, tool, args):
    """The requests of a short real session, in batches written back to back (ids 1…)."""
    call = lambda i, name, arguments: {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                                       "params": {"name": name, "arguments": arguments}}
    batches = [
        [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
          "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                     "clientInfo": {"name": "startup-order", "version": "1"}}}],
        [{"jsonrpc": "2.0", "method": "notifications/initialized"},
         {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}],
        [call(3, tool, args)],
        [call(4, tool, args)],
        [call(i, tool, args) for i in range(5, 25)],  # pipelined, as scripts/bench sends them
        [call(25, tool, {"no_such_argument": [1]})],
        [call(26, "no_such_tool", {})],
        [{"jsonrpc": "2.0", "id": 27, "method": "ping"}],
    ]
    return [[json.dumps(r) for r in batch] for batch in batches] + [["{not json"]]


def trace(binary, server, tool, args, env, workdir):
    """Run one server under lackey through a session → two lists of superblock addresses relative
    to the binary: what ran up to the initialize answer, and what ran after it."""
    logfile = workdir / f"lackey-{server}.log"
    cmd = ["valgrind", "--tool=lackey", "--trace-superblocks=yes", f"--log-file={logfile}",
           binary, "mcp", server]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env=env, text=True)
    base = None
    init_bytes = 0  # how much of the log was written when initialize was answered
    try:
        for batch in session(server, tool, args):
            p.stdin.write("".join(line + "\n" for line in batch))
            p.stdin.flush()
            # Batch by batch, so the log can be split where initialize was answered.
            for line in batch:
                if '"id"' in line or line.startswith("{not"):
                    if not p.stdout.readline():
                        raise RuntimeError(f"vibn mcp {server} closed its stdout")
            if base is None:
                base = load_base(p.pid, binary)
                init_bytes = logfile.stat().st_size
        p.stdin.close()
        p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    phases = ([], [])
    with open(logfile, "rb") as f:
        done = 0
        for line in f:
            done += len(line)
            if line.startswith(b"SB "):
                phases[done > init_bytes].append(int(line[3:], 16) - base)
    logfile.unlink()
    return phases


def check(sections, order_file):
    """Print how much of `order_file` names functions the map's build has; 1 if under 90%."""
    names = {symbol for _, _, symbol in sections if symbol}
    listed = order_file.read_text().split() if order_file.exists() else []
    found = sum(1 for name in listed if name in names)
    share = found / len(listed) if listed else 0.0
    print(json.dumps({"listed": len(listed), "found": found, "share": round(share, 3)}))
    if share < 0.9:
        log(f"startup-order: only {found} of the {len(listed)} functions in {order_file} are in this "
            "build (a dependency or feature changed their names): run scripts/startup-order")
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="the vibn binary the map belongs to")
    ap.add_argument("--check", action="store_true",
                    help="print (JSON) how many of the list's names the map's build has, and exit")
    ap.add_argument("--map", required=True, help="the linker map (VIBN_LINK_MAP)")
    ap.add_argument("--out", default=str(SCRIPTS.parent / "link" / "startup.order"))
    a = ap.parse_args()
    starts, sections = read_map(a.map)
    if a.check:
        return check(sections, Path(a.out))
    if not a.bin:
        ap.error("--bin is needed to trace the servers")
    binary = os.path.realpath(a.bin)
    log(f"startup-order: {len(sections)} text sections in {a.map}")

    # (phase, server) → the sections it ran, in the order it first ran them; phase 0 is up to
    # the initialize answer, phase 1 the rest of the session.
    runs = {}
    unnamed = set()
    with tempfile.TemporaryDirectory(prefix="vibn-order-") as tmp:
        tmp = Path(tmp)
        up = Sandbox(binary, tmp, "up", [], UP_KEYS, wait_s=120)
        try:
            for server, tool, args in SERVERS:
                env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp)}
                if server == "workspace":
                    root = tmp / "root"
                    root.mkdir(exist_ok=True)
                    (root / "hello.txt").write_text("hello\n")
                    env["WORKSPACE_ROOT"] = str(root)
                else:
                    env |= {k: v for k, v in up.env.items() if k != "WORKSPACE_ROOT"}
                t0 = time.monotonic()
                ran = {}  # section → phase it first ran in
                for phase, addrs in enumerate(trace(binary, server, tool, args, env, tmp)):
                    for addr in addrs:
                        i = bisect.bisect_right(starts, addr) - 1
                        if i >= 0 and addr < sections[i][1] and i not in ran:
                            ran[i] = phase
                            if sections[i][2] is None:
                                unnamed.add(i)
                for phase in (0, 1):
                    runs[phase, server] = [i for i, p in ran.items() if p == phase and i not in unnamed]
                kb = [sum(sections[i][1] - sections[i][0] for i in runs[p, server]) / 1024 for p in (0, 1)]
                log(f"startup-order: {server}: {kb[0]:.0f} KB of code to initialize, {kb[1]:.0f} KB more "
                    f"after ({time.monotonic() - t0:.1f} s)")
        finally:
            up.stop()

    # Layout: all that runs up to the initialize answer, then the rest. Within each part the
    # functions are grouped by which servers ran them, the groups most servers share first,
    # so each server's code sits in a few compact runs and a server never pages in another's.
    order = [i for i, (_, _, name) in enumerate(sections) if name and NATIVE_ONLY.search(name)]
    placed = set(order)
    names = [server for server, *_ in SERVERS]
    for phase in (0, 1):
        first_seen, users = {}, {}
        for server in names:
            for i in runs[phase, server]:
                if i not in placed:
                    first_seen.setdefault(i, len(first_seen))
                    users.setdefault(i, set()).add(server)
        def group(i):
            mask = sum(1 << k for k, server in enumerate(names) if server in users[i])
            return (-len(users[i]), mask, first_seen[i])
        for i in sorted(first_seen, key=group):
            placed.add(i)
            order.append(i)
        log(f"startup-order: phase {phase}: {sum(sections[i][1] - sections[i][0] for i in placed) / 1024:.0f}"
            f" KB placed so far")
    code = sum(sections[i][1] - sections[i][0] for i in order)
    order = [sections[i][2] for i in order]

    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(".tmp")
    tmp_out.write_text("".join(s + "\n" for s in order))
    tmp_out.replace(out)
    log(f"startup-order: {len(order)} functions, {code / 1024:.0f} KB of code, written to {out} ({len(unnamed)} ran in sections without a name of their own)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
