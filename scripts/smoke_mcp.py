#!/usr/bin/env python3
"""smoke_mcp: demo and smoke test of `vibn mcp workspace` through the real Python MCP SDK.

    python smoke_mcp.py --bin target/release/vibn --tmp SCRATCH_DIR workspace

Normally run by scripts/smoke-mcp (which builds vibn, provides the mcp==2.3.0 venv and the
scratch dir and removes it afterwards). It starts `vibn sandbox git-http` with a repository
demo/site, clones it into a workspace, drives every workspace tool through `mcp.Client` in
the legacy era (initialize handshake), re-connects in the modern era (mode="auto", which
must negotiate 2026-07-28), and checks the push landed with plain git. The transcript goes
to stdout; the exit code is 0 only when every step passed.
"""
import argparse
import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path

from mcp import Client, StdioServerParameters

REPO = "demo/site"
MODERN = "2026-07-28"
DEADLINE_S = 50  # the whole run; a wedged server must not hang CI
CALL_TIMEOUT_S = 20
TOOLS = {"read_file", "write_file", "replace_in_file", "list_directory", "find_files",
         "search_code", "execute_command", "git_commit_and_push"}
PAGE = """<!doctype html>
<html>
  <head><title>demo/site</title></head>
  <body>
    <h1>Hello, world</h1>
    <p>Published by an agent through the vibn workspace MCP server.</p>
  </body>
</html>
"""
# Answers git's credential `get` from the environment, so the token is never in argv or a URL.
CRED_HELPER = (r'!f() { test "$1" = get || exit 0; '
               r'printf "username=%s\npassword=%s\n" "$SMOKE_GIT_USER" "$SMOKE_GIT_TOKEN"; }; f')


class StepFailed(Exception):
    pass


def expect(cond, message):
    if not cond:
        raise StepFailed(message)


def short(value, n=72):
    s = value if isinstance(value, str) else json.dumps(value)
    s = s.replace("\n", "\\n")
    return s if len(s) <= n else s[: n - 1] + "…"


class Transcript:
    """Numbered PASS/FAIL lines on stdout; every line is checked for the sandbox token."""

    def __init__(self):
        self.secrets, self.passed, self.failed, self.n = [], 0, [], 0

    def say(self, text=""):
        for s in self.secrets:
            text = text.replace(s, "********")
        print(text, flush=True)

    def leaked(self, text):
        return any(s in text for s in self.secrets)

    async def step(self, title, fn):
        """Run one step; a failure is recorded and the run goes on, so the transcript is whole."""
        self.n += 1
        t = time.perf_counter()
        try:
            summary = await fn()
        except Exception as e:  # every kind of failure is a FAIL line, not a traceback
            msg = str(e) if isinstance(e, StepFailed) else f"{type(e).__name__}: {e}"
            self.failed.append(f"{self.n}. {title}")
            self.say(f"  FAIL {self.n:2d}. {title:<40} {msg}")
            return False
        ms = (time.perf_counter() - t) * 1e3
        self.passed += 1
        self.say(f"  PASS {self.n:2d}. {title:<40} {summary}  ({ms:.0f} ms)")
        return True


T = Transcript()


def git(*args, cwd=None, env=None, check=True):
    r = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise StepFailed(f"git {args[0]} failed: {short(r.stderr.strip(), 200)}")
    return r


class Sandbox:
    """`vibn sandbox git-http` in the background; its pid goes to a file for the shell's trap."""

    def __init__(self, binary, tmp):
        self.pidfile = tmp / "sandbox.pid"
        self.repos = tmp / "repos"
        self.log = open(tmp / "sandbox.log", "wb")
        self.p = subprocess.Popen(
            [binary, "sandbox", "git-http", "--repos", str(self.repos), "--create", REPO, "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log)
        self.pidfile.write_text(str(self.p.pid))
        self.env = self._read_env(3, deadline=time.monotonic() + 15)

    def _read_env(self, n, deadline):
        buf, fd = b"", self.p.stdout.fileno()
        while buf.count(b"\n") < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise StepFailed("the sandbox printed no environment within 15 s")
            chunk = os.read(fd, 4096)
            if not chunk:
                tail = (self.repos.parent / "sandbox.log").read_text(errors="replace")[-500:]
                raise StepFailed(f"the sandbox exited ({self.p.poll()}): {tail}")
            buf += chunk
        return dict(line.split("=", 1) for line in buf.decode().splitlines()[:n])

    @property
    def bare(self):
        return self.repos / f"{REPO}.git"

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.pidfile.unlink(missing_ok=True)
        self.p.stdout.close()
        self.log.close()


async def call(c, name, args, error=False):
    """tools/call → structuredContent; isError must be `error`; no result may hold the token."""
    r = await c.call_tool(name, args, read_timeout_seconds=CALL_TIMEOUT_S)
    sc = r.structured_content
    if sc is None:  # fall back to the text copy of the structured result
        text = "".join(getattr(b, "text", "") for b in r.content)
        try:
            sc = json.loads(text)
        except ValueError:
            sc = {"text": text}
    expect(not T.leaked(json.dumps(sc) + json.dumps([b.model_dump() for b in r.content])),
           f"{name} result contains the Gitea token")
    if r.is_error and not error:
        raise StepFailed(f"{name} returned isError: {short(sc, 200)}")
    expect(bool(r.is_error) == error, f"{name} succeeded but an isError result was expected")
    return sc


async def bad_path_is_403(c):
    err = await call(c, "read_file", {"path": "../etc/passwd"}, error=True)
    expect(err.get("status") == 403, f"expected status 403, got {short(err)}")
    return f"isError, status 403: {short(err.get('error', ''), 60)}"


async def legacy_era(c, ws, sandbox, commit):
    """Everything a coding agent does in one session: edit, check, search, run, ship."""
    page = ws / "index.html"

    async def tools_list():
        names = [t.name for t in (await c.list_tools()).tools]
        expect(set(names) == TOOLS, f"tools differ: {sorted(set(names) ^ TOOLS)}")
        return f"{len(names)} tools: {', '.join(names)}"

    async def write():
        r = await call(c, "write_file", {"path": "index.html", "content": PAGE})
        expect(r.get("bytes_written") == len(PAGE.encode()), f"bytes_written {r.get('bytes_written')}")
        expect(page.read_text() == PAGE, "file on disk differs from what was written")
        return f"created={r.get('created')}, {r['bytes_written']} bytes"

    async def read():
        r = await call(c, "read_file", {"path": "index.html"})
        expect(r.get("content") == PAGE, f"content differs: {short(r.get('content'))}")
        return f"lines {r['start_line']}-{r['end_line']} of {r['total_lines']}, truncated={r['truncated']}"

    edit = {"path": "index.html", "old": "Hello, world", "new": "Hello, vibn"}

    async def replace_dry():
        r = await call(c, "replace_in_file", edit | {"dry_run": True})
        expect(r.get("replacements") == 1 and r.get("written") is False, f"got {short(r)}")
        expect(page.read_text() == PAGE, "dry run changed the file")
        changed = [l for l in r.get("diff", "").splitlines() if l[:1] in "+-" and l[:3] not in ("+++", "---")]
        return f"1 replacement, not written; diff {' | '.join(changed)}"

    async def replace():
        r = await call(c, "replace_in_file", edit)
        expect(r.get("replacements") == 1 and r.get("written") is True, f"got {short(r)}")
        expect("Hello, vibn" in page.read_text(), "file on disk was not changed")
        return "1 replacement, written"

    async def search():
        r = await call(c, "search_code", {"pattern": "vibn"})
        hits = [(f["path"], l["line"], l["text"].strip()) for f in r.get("files", []) for l in f["lines"]]
        expect(r.get("match_count", 0) >= 2 and all(p == "index.html" for p, _, _ in hits),
               f"expected 2 matches in index.html, got {short(r)}")
        return f"{r['match_count']} matches: " + "; ".join(f"{p}:{n}: {short(t, 30)}" for p, n, t in hits)

    async def find():
        r = await call(c, "find_files", {"glob": "*.html"})
        expect(r.get("files") == ["index.html"], f"got {short(r)}")
        return f"files {r['files']}"

    async def listing():
        r = await call(c, "list_directory", {})
        names = [f"{e['path']} ({e['kind']})" for e in r.get("entries", [])]
        expect(any(e["path"] == "index.html" for e in r.get("entries", [])), f"got {short(r)}")
        return f"{len(names)} entries: {', '.join(names)}"

    async def execute():
        r = await call(c, "execute_command", {"command": "ls -la"})
        expect(r.get("exit_code") == 0 and "index.html" in r.get("stdout", ""), f"got {short(r, 200)}")
        return f"exit 0 in {r['duration_ms']} ms, {len(r['stdout'].splitlines())} lines of output"

    async def commit_and_push():
        r = await call(c, "git_commit_and_push",
                       {"message": "Add the demo home page", "branch": "main"})
        expect(r.get("committed") and r.get("pushed"), f"got {short(r, 200)}")
        commit["sha"] = r["commit"]
        return f"commit {r['commit'][:10]} on {r['branch']} pushed to {r.get('repo')}"

    async def verify():
        expect("sha" in commit, "nothing was pushed")
        head = git("--git-dir", str(sandbox.bare), "rev-parse", "--verify", "refs/heads/main").stdout.strip()
        expect(head == commit["sha"], f"sandbox main is {head[:10]}, pushed {commit['sha'][:10]}")
        subject = git("--git-dir", str(sandbox.bare), "log", "-1", "--format=%s", "main").stdout.strip()
        body = git("--git-dir", str(sandbox.bare), "show", "main:index.html").stdout
        expect(subject == "Add the demo home page" and "Hello, vibn" in body, f"got {subject!r}")
        return f"sandbox {REPO} main = {head[:10]} \"{subject}\", index.html has the edit"

    for title, fn in [
        ("tools/list", tools_list),
        ("write_file index.html", write),
        ("read_file index.html", read),
        ("replace_in_file (dry_run)", replace_dry),
        ("replace_in_file", replace),
        ("search_code 'vibn'", search),
        ("find_files '*.html'", find),
        ("list_directory", listing),
        ("execute_command 'ls -la'", execute),
        ("read_file '../etc/passwd' is refused", lambda: bad_path_is_403(c)),
        ("git_commit_and_push", commit_and_push),
        ("git (outside MCP): the push landed", verify),
    ]:
        await T.step(title, fn)


async def modern_era(c, commit):
    """A second client in the current protocol: per-request _meta, no initialize."""

    async def tools_list():
        names = [t.name for t in (await c.list_tools()).tools]
        expect(set(names) == TOOLS, f"tools differ: {sorted(set(names) ^ TOOLS)}")
        return f"{len(names)} tools"

    async def read():
        r = await call(c, "read_file", {"path": "index.html", "offset": 5, "limit": 1})
        expect(r.get("content", "").strip() == "<h1>Hello, vibn</h1>", f"got {short(r)}")
        return f"line 5: {r['content'].strip()}"

    async def log():
        r = await call(c, "execute_command", {"command": "git log --oneline -1"})
        expect(r.get("exit_code") == 0 and r.get("stdout", "").startswith(commit.get("sha", "?")[:7]),
               f"got {short(r, 200)}")
        return f"git log: {r['stdout'].strip()}"

    for title, fn in [
        ("tools/list", tools_list),
        ("read_file index.html line 5", read),
        ("execute_command 'git log --oneline -1'", log),
        ("read_file '../etc/passwd' is refused", lambda: bad_path_is_403(c)),
    ]:
        await T.step(title, fn)


async def session(params, mode, label, body, want_version=None):
    T.say(f"\n== {label} ==")
    info = {}

    async def connect():
        info["client"] = await stack.enter_async_context(Client(params, mode=mode))
        c = info["client"]
        if want_version:
            expect(c.protocol_version == want_version, f"negotiated {c.protocol_version}, want {want_version}")
        si = c.server_info
        who = f"{si.name} {si.version}" if si else "(no serverInfo)"
        return f"protocol {c.protocol_version}, server {who}"

    try:
        async with AsyncExitStack() as stack:
            if await T.step(f"connect (mode={mode!r})", connect):
                await body(info["client"])
    except Exception as e:  # e.g. the server died: anyio reports it when the client closes
        T.failed.append(f"{label}: closing the session")
        T.say(f"  FAIL closing the session: {type(e).__name__}: {e}")


async def demo(a, tmp):
    T.say(f"== vibn {a.server} MCP server: smoke test through the Python MCP SDK ==")
    T.say(f"binary {a.bin}")
    sandbox = Sandbox(a.bin, tmp)
    try:
        env = sandbox.env
        T.secrets.append(env["GITEA_API_TOKEN"])
        url = f"{env['GITEA_API_URL']}/{REPO}.git"
        T.say(f"setup: git sandbox (pid {sandbox.p.pid}) at {env['GITEA_API_URL']}, "
              f"user {env['GITEA_USERNAME']}, token ******** (not shown)")

        ws = tmp / "ws"
        clone_env = os.environ | {"SMOKE_GIT_USER": env["GITEA_USERNAME"],
                                  "SMOKE_GIT_TOKEN": env["GITEA_API_TOKEN"], "GIT_TERMINAL_PROMPT": "0"}
        git("-c", "credential.helper=", "-c", f"credential.helper={CRED_HELPER}",
            "clone", "-q", url, str(ws), env=clone_env)
        if git("-C", str(ws), "rev-parse", "--verify", "-q", "HEAD", check=False).returncode:
            git("-C", str(ws), "symbolic-ref", "HEAD", "refs/heads/main")  # empty repo: start on main
        T.say(f"setup: cloned {url} into workspace {ws}")

        params = StdioServerParameters(
            command=a.bin, args=["mcp", a.server, "--root", str(ws)],
            env={k: env[k] for k in ("GITEA_API_URL", "GITEA_USERNAME", "GITEA_API_TOKEN")})
        commit = {}
        await session(params, "legacy", "era 1: legacy (initialize handshake)",
                      lambda c: legacy_era(c, ws, sandbox, commit))
        await session(params, "auto", f"era 2: modern (mode='auto' must negotiate {MODERN})",
                      lambda c: modern_era(c, commit), want_version=MODERN)
    finally:
        sandbox.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="the vibn binary")
    ap.add_argument("--tmp", required=True, help="scratch directory (the caller removes it)")
    ap.add_argument("server", choices=["workspace"])
    a = ap.parse_args()
    a.bin = str(Path(a.bin).resolve())
    # SIGTERM → SystemExit, so the sandbox is still stopped by the finally above.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.perf_counter()
    try:
        asyncio.run(asyncio.wait_for(demo(a, Path(a.tmp)), DEADLINE_S))
    except (StepFailed, TimeoutError, OSError, subprocess.SubprocessError) as e:
        T.failed.append(f"setup/run: {type(e).__name__}: {e}")
        T.say(f"  FAIL setup/run: {type(e).__name__}: {e}")
    total = T.passed + len(T.failed)
    T.say(f"\n== {T.passed} passed, {len(T.failed)} failed ({total} steps, "
          f"{time.perf_counter() - t0:.1f} s) ==")
    for f in T.failed:
        T.say(f"  failed: {f}")
    return 1 if T.failed or T.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
