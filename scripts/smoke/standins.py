"""Stand-in processes for the smoke flows and scripts/bench.py: `vibn sandbox <kind>` in the
background, its `KEY=value` environment read from stdout. Standard library only, so the
benchmark (which has no MCP SDK) imports it too."""
import os
import select
import shlex
import subprocess
import time


class StepFailed(Exception):
    """A step failed, or a stand-in did not start; the message says why."""


class Sandbox:
    """`vibn sandbox <kind> ARGS` in the background until stop(): it prints `KEY=value` lines
    (read into `env` until every one of `keys` came) and serves until SIGTERM. Its pid goes to
    `<tmp>/<kind>.pid` for the shell's trap, in case this driver dies first."""

    def __init__(self, binary, tmp, kind, args, keys, wait_s=15):
        self.kind = kind
        self.pidfile = tmp / f"{kind}.pid"
        self.logpath = tmp / f"{kind}.log"
        self.log = open(self.logpath, "wb")
        self.p = subprocess.Popen([binary, "sandbox", kind, *args],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log)
        self.pidfile.write_text(str(self.p.pid))
        try:
            self.env = self._read_env(keys, wait_s)
        except BaseException:
            self.stop()
            raise

    def _read_env(self, keys, wait_s):
        deadline = time.monotonic() + wait_s
        buf, fd, env = b"", self.p.stdout.fileno(), {}
        while not set(keys) <= env.keys():
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise StepFailed(f"the {self.kind} sandbox printed no environment within {wait_s} s")
            chunk = os.read(fd, 4096)
            if not chunk:
                self.p.wait(timeout=5)
                tail = self.logpath.read_text(errors="replace")[-500:]
                raise StepFailed(f"the {self.kind} sandbox exited ({self.p.poll()}): {tail}")
            *lines, buf = (buf + chunk).split(b"\n")
            for line in lines:
                # Lines are shell-quoted (`KEY='1|…'`), so read them the way a shell would.
                words = shlex.split(line.decode())
                key, sep, value = (words[0] if len(words) == 1 else "").partition("=")
                if sep:
                    env[key] = value
        return env

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


def server_env(scratch, **variables):
    """A clean environment for a server process: PATH, a scratch HOME, and `variables`.
    (The SDK adds its own short list — LOGNAME, SHELL, TERM, USER — nothing secret.)"""
    home = scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)} | variables
