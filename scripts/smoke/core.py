"""What every flow shares: the PASS/FAIL transcript, tool calls through `mcp.Client`, and one
MCP session per protocol era; the `vibn sandbox …` launcher (standins.py) is re-exported."""
import json
import subprocess
import time
from contextlib import AsyncExitStack

from mcp import Client

# Re-exported: the flows import them from here.
from .standins import Sandbox, StepFailed, server_env  # noqa: F401

MODERN = "2026-07-28"
DEADLINE_S = 50  # one server's whole run; a wedged server must not hang CI
CALL_TIMEOUT_S = 20
LEGACY_LABEL = "era 1: legacy (initialize handshake)"
MODERN_LABEL = f"era 2: modern (mode='auto' must negotiate {MODERN})"


def expect(cond, message):
    if not cond:
        raise StepFailed(message)


def short(value, n=72):
    s = value if isinstance(value, str) else json.dumps(value)
    s = s.replace("\n", "\\n")
    return s if len(s) <= n else s[: n - 1] + "…"


class Transcript:
    """Numbered PASS/FAIL lines on stdout; every line is checked for the sandbox secrets."""

    def __init__(self):
        self.secrets, self.passed, self.failed, self.n = [], 0, [], 0

    def begin(self):
        """A new server's run: numbering and counts restart (the secrets stay masked)."""
        self.passed, self.failed, self.n = 0, [], 0

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

    async def steps(self, steps):
        for title, fn in steps:
            await self.step(title, fn)


T = Transcript()


def git(*args, cwd=None, env=None, check=True):
    r = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise StepFailed(f"git {args[0]} failed: {short(r.stderr.strip(), 200)}")
    return r


def vibn_call(binary, server, tool, args, server_flags=(), env=None):
    """`vibn call SERVER TOOL --json ARGS -- FLAGS`: (exit code, the JSON it printed)."""
    r = subprocess.run([binary, "call", server, tool, "--json", json.dumps(args), "--", *server_flags],
                       env=env, capture_output=True, text=True, timeout=CALL_TIMEOUT_S)
    try:
        out = json.loads(r.stdout) if r.stdout.strip() else None
    except json.JSONDecodeError:
        raise StepFailed(f"vibn call printed no JSON: {short(r.stdout, 200)}")
    return r.returncode, out


class Progress:
    """A progress callback that keeps what arrived. The SDK drops a notification that comes after
    its request's result, so `expect_final` checks that vibn sent the last one in time."""

    def __init__(self):
        self.messages = []

    async def __call__(self, progress, total, message):
        self.messages.append((progress, total, message))

    def expect_final(self, status):
        """The last progress message arrived before the result and says `status`."""
        said = [m for _, _, m in self.messages if m]
        expect(said and said[-1] == status,
               f"the last progress message before the result should be {status!r}, got {said}")

    def summary(self):
        said = [m for _, _, m in self.messages if m]
        n = len(self.messages)
        return (f"{n} progress message{'' if n == 1 else 's'} before the result"
                + (f" ({', '.join(said)})" if said else ""))


async def call(c, name, args, error=False, progress=None):
    """tools/call → structuredContent; isError must be `error`; no result may hold a secret."""
    r = await c.call_tool(name, args, read_timeout_seconds=CALL_TIMEOUT_S, progress_callback=progress)
    sc = r.structured_content
    if sc is None:  # fall back to the text copy of the structured result
        text = "".join(getattr(b, "text", "") for b in r.content)
        try:
            sc = json.loads(text)
        except ValueError:
            sc = {"text": text}
    expect(not T.leaked(json.dumps(sc) + json.dumps([b.model_dump() for b in r.content])),
           f"{name} result contains a sandbox secret")
    if r.is_error and not error:
        raise StepFailed(f"{name} returned isError: {short(sc, 200)}")
    expect(bool(r.is_error) == error, f"{name} succeeded but an isError result was expected: {short(sc, 120)}")
    return sc


async def refused(c, name, args, status):
    """The call must be an isError result with this HTTP-style status."""
    err = await call(c, name, args, error=True)
    expect(err.get("status") == status, f"expected status {status}, got {short(err)}")
    return f"isError, status {status}: {short(err.get('error', ''), 60)}"


def tools_list(c, expected, verbose=True):
    """A tools/list step: exactly `expected` tools."""

    async def run():
        names = [t.name for t in (await c.list_tools()).tools]
        expect(set(names) == expected, f"tools differ: {sorted(set(names) ^ expected)}")
        return f"{len(names)} tools: {', '.join(names)}" if verbose else f"{len(names)} tools"

    return run


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
