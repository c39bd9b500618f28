"""`vibn mcp workspace` against `vibn sandbox git-http`: clone demo/site into an empty workspace
with git_clone, drive every workspace tool in the legacy era, re-connect in the modern era, and
check with plain git that the push landed."""

from mcp import StdioServerParameters

from .core import (LEGACY_LABEL, MODERN, MODERN_LABEL, Sandbox, T, call, expect,
                   git, refused, session, short, tools_list, vibn_call)

REPO = "demo/site"
TOOLS = {"read_file", "write_file", "replace_in_file", "list_directory", "find_files",
         "search_code", "execute_command", "git_commit_and_push", "git_clone", "git_pull"}
PAGE = """<!doctype html>
<html>
  <head><title>demo/site</title></head>
  <body>
    <h1>Hello, world</h1>
    <p>Published by an agent through the vibn workspace MCP server.</p>
  </body>
</html>
"""


def bad_path_is_403(c):
    return refused(c, "read_file", {"path": "../etc/passwd"}, 403)


async def legacy_era(c, ws, bare, commit, token):
    """Everything a coding agent does in one session: clone, edit, check, search, run, ship."""
    page = ws / "index.html"

    async def clone():
        r = await call(c, "git_clone", {"repo": REPO})
        expect(r.get("repo") == REPO and r.get("dir") == ".", f"got {short(r, 200)}")
        origin = r.get("origin", "")
        config = (ws / ".git" / "config").read_text()
        expect("@" not in origin and token not in config, "credentials were stored in the clone")
        return f"{REPO} into the root, branch {r.get('branch')}, {r.get('files')} files, origin {origin}"

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
        head = git("--git-dir", str(bare), "rev-parse", "--verify", "refs/heads/main").stdout.strip()
        expect(head == commit["sha"], f"sandbox main is {head[:10]}, pushed {commit['sha'][:10]}")
        subject = git("--git-dir", str(bare), "log", "-1", "--format=%s", "main").stdout.strip()
        body = git("--git-dir", str(bare), "show", "main:index.html").stdout
        expect(subject == "Add the demo home page" and "Hello, vibn" in body, f"got {subject!r}")
        return f"sandbox {REPO} main = {head[:10]} \"{subject}\", index.html has the edit"

    async def pull():
        r = await call(c, "git_pull", {})
        expect(r.get("outcome") == "up_to_date" and r.get("commit") == commit.get("sha"),
               f"got {short(r, 200)}")
        return f"{r['repo']} {r['branch']}: {r['outcome']}"

    await T.steps([
        ("tools/list", tools_list(c, TOOLS)),
        ("git_clone demo/site", clone),
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
        ("git_pull", pull),
    ])


async def modern_era(c, commit):
    """A second client in the current protocol: per-request _meta, no initialize."""

    async def read():
        r = await call(c, "read_file", {"path": "index.html", "offset": 5, "limit": 1})
        expect(r.get("content", "").strip() == "<h1>Hello, vibn</h1>", f"got {short(r)}")
        return f"line 5: {r['content'].strip()}"

    async def log():
        r = await call(c, "execute_command", {"command": "git log --oneline -1"})
        expect(r.get("exit_code") == 0 and r.get("stdout", "").startswith(commit.get("sha", "?")[:7]),
               f"got {short(r, 200)}")
        return f"git log: {r['stdout'].strip()}"

    await T.steps([
        ("tools/list", tools_list(c, TOOLS, verbose=False)),
        ("read_file index.html line 5", read),
        ("execute_command 'git log --oneline -1'", log),
        ("read_file '../etc/passwd' is refused", lambda: bad_path_is_403(c)),
    ])


async def flow(a, scratch):
    repos = scratch / "repos"
    sandbox = Sandbox(a.bin, a.tmp, "git-http", ["--repos", str(repos), "--create", REPO, "--port", "0"],
                      ["GITEA_API_URL", "GITEA_USERNAME", "GITEA_API_TOKEN"])
    try:
        env = sandbox.env
        T.secrets.append(env["GITEA_API_TOKEN"])
        url = f"{env['GITEA_API_URL']}/{REPO}.git"
        T.say(f"setup: git sandbox (pid {sandbox.p.pid}) at {env['GITEA_API_URL']}, "
              f"user {env['GITEA_USERNAME']}, token ******** (not shown)")

        ws = scratch / "ws"
        ws.mkdir()
        T.say(f"setup: empty workspace {ws}; the agent clones {url} with git_clone")

        params = StdioServerParameters(
            command=a.bin, args=["mcp", "workspace", "--root", str(ws)],
            env={k: env[k] for k in ("GITEA_API_URL", "GITEA_USERNAME", "GITEA_API_TOKEN")})
        commit = {}
        bare = repos / f"{REPO}.git"
        token = env["GITEA_API_TOKEN"]
        await session(params, "legacy", LEGACY_LABEL, lambda c: legacy_era(c, ws, bare, commit, token))
        await session(params, "auto", MODERN_LABEL, lambda c: modern_era(c, commit), want_version=MODERN)

        async def one_call():
            code, out = vibn_call(a.bin, "workspace", "read_file",
                                  {"path": "index.html", "offset": 5, "limit": 1}, ["--root", str(ws)])
            expect(code == 0 and (out or {}).get("content", "").strip() == "<h1>Hello, vibn</h1>",
                   f"exit {code}: {short(out)}")
            code, out = vibn_call(a.bin, "workspace", "read_file", {"path": "../etc/passwd"}, ["--root", str(ws)])
            expect(code == 1 and (out or {}).get("status") == 403, f"exit {code}: {short(out)}")
            return "line 5 read (exit 0); ../etc/passwd refused 403 (exit 1)"

        T.say("vibn call (one tool from a shell, same guards)")
        await T.step("vibn call workspace read_file", one_call)
    finally:
        sandbox.stop()

