#!/usr/bin/env python3
"""pipeline_rss: peak memory of `vibn mcp workspace` under N pipelined `read_file` calls.

    python3 scripts/pipeline_rss.py --bin target/release/vibn [-n 20000] [--size 4096]

A writer thread sends initialize and N `tools/call read_file` requests back to back, as fast
as the pipe takes them; a reader thread reads every answer as it comes (a client that reads
nothing while writing would deadlock against any server with bounded memory). When all N
answers are in, the server's peak RSS (VmHWM) is read from /proc and stdin is closed.
Prints one JSON object: answers by kind (result, isError, JSON-RPC error code), peak RSS in
MB, wall time, and the server's exit code. Linux only (reads /proc). Stdlib only.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path


def peak_rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("-n", type=int, default=20000, help="pipelined read_file calls")
    ap.add_argument("--size", type=int, default=4096, help="bytes in the file read")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "f.txt").write_text(("x" * 63 + "\n") * max(1, a.size // 64))
        p = subprocess.Popen([a.bin, "mcp", "workspace", "--root", root], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        kinds = Counter()
        done = threading.Event()

        def write():
            init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                    "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                               "clientInfo": {"name": "rss", "version": "0"}}}
            p.stdin.write((json.dumps(init) + "\n").encode())
            p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
            call = {"jsonrpc": "2.0", "method": "tools/call",
                    "params": {"name": "read_file", "arguments": {"path": "f.txt"}}}
            for i in range(1, a.n + 1):
                p.stdin.write((json.dumps(call | {"id": i}) + "\n").encode())
            p.stdin.flush()

        def read():
            seen = 0
            for line in p.stdout:
                m = json.loads(line)
                if m.get("id") in (0, None) and "error" not in m:
                    continue
                seen += 1
                if "error" in m:
                    kinds[f"jsonrpc_error_{m['error']['code']}"] += 1
                elif m["result"].get("isError"):
                    kinds["is_error"] += 1
                else:
                    kinds["result"] += 1
                if seen == a.n:
                    break
            done.set()

        t0 = time.perf_counter()
        threads = [threading.Thread(target=write, daemon=True), threading.Thread(target=read, daemon=True)]
        for t in threads:
            t.start()
        finished = done.wait(timeout=600)
        wall = time.perf_counter() - t0
        rss = peak_rss_mb(p.pid)
        p.stdin.close()
        try:
            code = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            code = "killed"
        print(json.dumps({"calls": a.n, "file_bytes": a.size, "answers": dict(kinds),
                          "all_answered": finished, "peak_rss_mb": round(rss, 1) if rss else None,
                          "wall_s": round(wall, 2), "exit_code": code}))
        return 0 if finished and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
