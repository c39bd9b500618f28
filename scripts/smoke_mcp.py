#!/usr/bin/env python3
"""smoke_mcp: demo and smoke test of vibn's MCP servers through the real Python MCP SDK.

    python smoke_mcp.py --bin target/release/vibn --tmp SCRATCH_DIR SERVER   # or: all

Normally run by scripts/smoke-mcp (which builds vibn, provides the mcp==2.3.0 venv and the
scratch dir and removes it afterwards). Each server runs against the local stand-in the
binary ships (`vibn sandbox …`, a child process stopped at the end), in a clean environment:

  workspace  `vibn sandbox git-http` with demo/site, cloned into a workspace; every tool, and
             plain git checks that the push landed
  gitea      `vibn sandbox gitea --create acme/site`: repos, an issue's life, a file read; a
             second server with VIBN_PROTECTED_REPOS=acme/* must refuse create_issue
  coolify    `vibn sandbox coolify` with a project and app made over its REST API: listing,
             status, deploy_app wait=true with progress, deployments; a second server with
             VIBN_PROTECTED_APPS=site must refuse deploy_app
  platform   a scratch keystore, a skills folder, `vibn sandbox search`: memory, skills, PRD
             versions, web search
  agent      `vibn sandbox runner` and a scratch keystore: spawn, follow with progress, list,
             cancel

Every server is driven through `mcp.Client` in the legacy era (initialize handshake), then
re-connected in the modern era (mode="auto", which must negotiate 2026-07-28). `all` runs
every server in turn, workspace first, and ends with one summary line. The transcript goes to
stdout (sandbox secrets masked); the exit code is 0 only when every step passed.
"""
import argparse
import asyncio
import importlib
import signal
import subprocess
import sys
import time
from pathlib import Path

from smoke.core import DEADLINE_S, StepFailed, T

SERVERS = ["workspace", "gitea", "coolify", "platform", "agent"]


def run(a, server):
    """One server's run, with its own header, deadline and summary; → (passed, failed, seconds)."""
    flow = importlib.import_module(f"smoke.{server}").flow
    T.begin()
    T.say(f"== vibn {server} MCP server: smoke test through the Python MCP SDK ==")
    T.say(f"binary {a.bin}")
    scratch = a.tmp / server
    scratch.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        asyncio.run(asyncio.wait_for(flow(a, scratch), DEADLINE_S))
    except (StepFailed, TimeoutError, OSError, subprocess.SubprocessError) as e:
        T.failed.append(f"setup/run: {type(e).__name__}: {e}")
        T.say(f"  FAIL setup/run: {type(e).__name__}: {e}")
    except Exception as e:  # a bug in a flow must not stop the other servers under `all`
        T.failed.append(f"setup/run: {type(e).__name__}: {e}")
        T.say(f"  FAIL setup/run (unexpected): {type(e).__name__}: {e}")
    elapsed = time.perf_counter() - t0
    total = T.passed + len(T.failed)
    T.say(f"\n== {T.passed} passed, {len(T.failed)} failed ({total} steps, {elapsed:.1f} s) ==")
    for f in T.failed:
        T.say(f"  failed: {f}")
    return T.passed, list(T.failed), elapsed


def main():
    try:
        return smoke()
    except KeyboardInterrupt:  # the flows' finally blocks have stopped their sandboxes
        T.say("\n== interrupted ==")
        return 130


def smoke():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="the vibn binary")
    ap.add_argument("--tmp", required=True, help="scratch directory (the caller removes it)")
    ap.add_argument("server", choices=[*SERVERS, "all"])
    a = ap.parse_args()
    a.bin = str(Path(a.bin).resolve())
    a.tmp = Path(a.tmp)
    # SIGTERM → SystemExit, so the sandboxes are still stopped by the flows' finally blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if a.server != "all":
        passed, failed, _ = run(a, a.server)
        return 1 if failed or passed == 0 else 0

    t0 = time.perf_counter()
    results = {}
    for i, server in enumerate(SERVERS):
        if i:
            T.say("\n")
        results[server] = run(a, server)
    passed = sum(p for p, _, _ in results.values())
    failed = [f"{s}: {f}" for s, (_, fs, _) in results.items() for f in fs]
    each = ", ".join(f"{s} {'ok' if not fs and p else 'FAILED'} ({p}/{p + len(fs)}, {t:.1f} s)"
                     for s, (p, fs, t) in results.items())
    T.say(f"\n== all: {len(SERVERS)} servers, {passed} passed, {len(failed)} failed "
          f"({time.perf_counter() - t0:.1f} s): {each} ==")
    for f in failed:
        T.say(f"  failed: {f}")
    return 1 if failed or any(p == 0 for p, _, _ in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
