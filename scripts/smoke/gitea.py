"""`vibn mcp gitea` against `vibn sandbox gitea --create acme/site`: repositories, an issue's
life (create, list, list across repos, close with a comment), a file read without cloning,
and a write refused by a second server with VIBN_PROTECTED_REPOS=acme/*."""
from mcp import StdioServerParameters

from .core import (LEGACY_LABEL, MODERN, MODERN_LABEL, Sandbox, T, call, expect, refused,
                   server_env, session, short, tools_list)

REPO = "acme/site"
TOOLS = {"close_issue", "create_issue", "list_all_issues", "list_issues", "list_repos", "read_repo_file"}
KEYS = ["GITEA_API_URL", "GITEA_USERNAME", "GITEA_API_TOKEN", "GITEA_ADMIN_PASSWORD"]
TITLE = "The home page has no favicon"


async def legacy_era(c, issue):
    async def repos():
        r = await call(c, "list_repos", {"owner": "acme"})
        names = [x["full_name"] for x in r.get("repos", [])]
        expect(REPO in names, f"{REPO} not listed: {short(r)}")
        site = next(x for x in r["repos"] if x["full_name"] == REPO)
        return f"{len(names)} repo(s): {', '.join(names)} (default branch {site['default_branch']})"

    async def create():
        r = await call(c, "create_issue", {"repo": REPO, "title": TITLE,
                                           "body": "Filed by the vibn smoke test."})
        expect(r.get("repo") == REPO and r.get("number", 0) > 0 and r.get("title") == TITLE, f"got {short(r)}")
        issue["number"] = r["number"]
        return f"{REPO}#{r['number']} \"{r['title']}\""

    async def issues():
        r = await call(c, "list_issues", {"repo": REPO})
        found = [i for i in r.get("issues", []) if i["number"] == issue.get("number")]
        expect(found and found[0]["state"] == "open", f"#{issue.get('number')} not listed open: {short(r)}")
        return f"{len(r['issues'])} open issue(s), #{found[0]['number']} by {found[0]['author']}"

    async def all_issues():
        r = await call(c, "list_all_issues", {})
        found = [i for i in r.get("issues", []) if i["repo"] == REPO and i["number"] == issue.get("number")]
        expect(found and not r.get("failed"), f"{REPO}#{issue.get('number')} missing or failures: {short(r)}")
        return f"{len(r['issues'])} issue(s) across {r['repos_scanned']} repo(s), {len(r['failed'])} failed"

    async def readme():
        r = await call(c, "read_repo_file", {"repo": REPO, "path": "README.md"})
        expect(r.get("content") and r.get("total_lines", 0) >= 1, f"got {short(r)}")
        first = r["content"].splitlines()[0]
        return f"{r['total_lines']} line(s), {r['size']} bytes, first: {short(first, 30)}"

    async def close():
        expect("number" in issue, "no issue was created")
        r = await call(c, "close_issue", {"repo": REPO, "number": issue["number"],
                                          "comment": "Fixed in the smoke test."})
        expect(r.get("state") == "closed" and r.get("commented") is True, f"got {short(r)}")
        return f"#{r['number']} {r['state']}, commented={r['commented']}"

    await T.steps([
        ("tools/list", tools_list(c, TOOLS)),
        ("list_repos acme", repos),
        ("create_issue", create),
        ("list_issues acme/site", issues),
        ("list_all_issues", all_issues),
        ("read_repo_file README.md", readme),
        ("close_issue (with a comment)", close),
    ])


async def protected_era(c):
    await T.steps([
        ("create_issue is refused (protected)",
         lambda: refused(c, "create_issue", {"repo": REPO, "title": "must not be filed"}, 403)),
    ])


async def modern_era(c, issue):
    async def closed():
        r = await call(c, "list_issues", {"repo": REPO, "state": "closed"})
        numbers = [i["number"] for i in r.get("issues", [])]
        expect(issue.get("number") in numbers, f"#{issue.get('number')} not closed: {short(r)}")
        expect(not any(i["title"] == "must not be filed" for i in r.get("issues", [])),
               "the refused issue was filed")
        return f"closed: {', '.join(f'#{n}' for n in numbers)}"

    async def open_issues():
        r = await call(c, "list_issues", {"repo": REPO, "state": "open"})
        expect(not r.get("issues"), f"open issues remain (did the refused create_issue land?): {short(r)}")
        return "no open issues (the refused one was not filed)"

    await T.steps([
        ("tools/list", tools_list(c, TOOLS, verbose=False)),
        ("list_issues state=closed", closed),
        ("list_issues state=open", open_issues),
    ])


async def flow(a, scratch):
    sandbox = Sandbox(a.bin, a.tmp, "gitea", ["--create", REPO, "--data", str(scratch / "data")], KEYS)
    try:
        env = sandbox.env
        T.secrets += [env["GITEA_API_TOKEN"], env["GITEA_ADMIN_PASSWORD"]]
        T.say(f"setup: Gitea sandbox (pid {sandbox.p.pid}) at {env['GITEA_API_URL']} with {REPO}, "
              f"user {env['GITEA_USERNAME']}, token ******** (not shown)")
        base = server_env(scratch, **{k: env[k] for k in KEYS[:3]})
        params = StdioServerParameters(command=a.bin, args=["mcp", "gitea"], env=base)
        guarded = StdioServerParameters(command=a.bin, args=["mcp", "gitea"],
                                        env=base | {"VIBN_PROTECTED_REPOS": "acme/*"})
        issue = {}
        await session(params, "legacy", LEGACY_LABEL, lambda c: legacy_era(c, issue))
        await session(guarded, "legacy", "refusal: a second server with VIBN_PROTECTED_REPOS=acme/*",
                      protected_era)
        await session(params, "auto", MODERN_LABEL, lambda c: modern_era(c, issue), want_version=MODERN)
    finally:
        sandbox.stop()
