"""`vibn mcp coolify` against `vibn sandbox coolify`: a project and an application made through
the sandbox's REST API, then listing, status, a deployment followed to the end with progress,
its history and build log, and a deploy refused by a server with VIBN_PROTECTED_APPS=site."""
import json
import urllib.error
import urllib.request

from mcp import StdioServerParameters

from .core import (LEGACY_LABEL, MODERN, MODERN_LABEL, Progress, Sandbox, StepFailed, T, call,
                   expect, refused, server_env, session, short, tools_list)

TOOLS = {"deploy", "deploy_app", "get_app_status", "get_deployment", "get_logs", "list_all_apps",
         "list_applications", "list_deployments", "list_projects"}
KEYS = ["COOLIFY_API_URL", "COOLIFY_API_TOKEN"]
PROJECT, APP = "demo", "site"
# The stand-in refuses git URLs on IPs or localhost, as Coolify does: keep a hostname.
GIT_REPOSITORY = "https://git.example.com/acme/site"


def rest(env, method, path, body=None):
    """One request to the Coolify sandbox's REST API (setup only, outside MCP)."""
    req = urllib.request.Request(
        env["COOLIFY_API_URL"] + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {env['COOLIFY_API_TOKEN']}", "Accept": "application/json",
                 "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raise StepFailed(f"{method} {path}: HTTP {e.code} {short(e.read().decode(errors='replace'), 200)}")


def provision(env):
    project = rest(env, "POST", "/projects", {"name": PROJECT})["uuid"]
    server = rest(env, "GET", "/servers")[0]
    app = rest(env, "POST", "/applications/public", {
        "project_uuid": project, "server_uuid": server["uuid"], "environment_name": "production",
        "git_repository": GIT_REPOSITORY, "git_branch": "main", "build_pack": "nixpacks",
        "ports_exposes": "3000", "name": APP})
    return {"project": project, "server": server, "app": app["uuid"]}


async def legacy_era(c, ids):
    async def projects():
        r = await call(c, "list_projects", {})
        names = {p["name"]: p["uuid"] for p in r.get("projects", [])}
        expect(names.get(PROJECT) == ids["project"], f"project {PROJECT} missing: {short(r)}")
        return f"{len(names)} project(s): {', '.join(names)}"

    async def all_apps():
        r = await call(c, "list_all_apps", {})
        apps = [(p["project"], a["name"], a["uuid"]) for p in r.get("projects", []) for a in p["applications"]]
        expect((PROJECT, APP, ids["app"]) in apps, f"{APP} missing: {short(r)}")
        return f"{r['total']} app(s): " + ", ".join(f"{p}/{n}" for p, n, _ in apps)

    async def status():
        r = await call(c, "get_app_status", {"uuid": ids["app"]})
        expect(r.get("name") == APP and r.get("git_repository"), f"got {short(r)}")
        return f"{APP}: status {r['status']}, {r.get('build_pack')}, {r.get('git_repository')}@{r.get('git_branch')}"

    async def deploy():
        progress = Progress()
        r = await call(c, "deploy_app", {"name": APP, "wait": True}, progress=progress)
        if r.get("deployment_uuid"):
            ids["deployment"] = r["deployment_uuid"]
        expect(r.get("finished") and r.get("succeeded") and r.get("deployment_uuid"), f"got {short(r, 200)}")
        progress.expect_final("finished")
        return f"{r['deployment_uuid'][:12]} {r['status']}; {progress.summary()}"

    async def deployments():
        r = await call(c, "list_deployments", {"uuid": ids["app"]})
        found = [d for d in r.get("deployments", []) if d["deployment_uuid"] == ids.get("deployment")]
        expect(found, f"deployment {ids.get('deployment')} not listed: {short(r)}")
        return f"{r['total']} deployment(s), newest {found[0]['status']}"

    async def deployment():
        expect("deployment" in ids, "nothing was deployed")
        r = await call(c, "get_deployment", {"deployment_uuid": ids["deployment"]})
        expect(r.get("finished") and r.get("status") == "finished" and r.get("log"), f"got {short(r, 200)}")
        return f"{r['status']}, {r['total_lines']} log lines, last: {short(r['log'][-1], 40)}"

    await T.steps([
        ("tools/list", tools_list(c, TOOLS)),
        ("list_projects", projects),
        ("list_all_apps", all_apps),
        ("get_app_status", status),
        ("deploy_app site wait=true (progress)", deploy),
        ("list_deployments", deployments),
        ("get_deployment (build log)", deployment),
    ])


async def protected_era(c):
    await T.steps([
        ("deploy_app is refused (protected)", lambda: refused(c, "deploy_app", {"name": APP}, 403)),
    ])


async def modern_era(c, ids):
    async def history():
        r = await call(c, "list_deployments", {"uuid": ids["app"]})
        expect(r.get("total") == 1, f"want exactly the one deployment (the refused one must not run): {short(r)}")
        return f"{r['total']} deployment (the refused deploy did not run)"

    async def status():
        r = await call(c, "get_app_status", {"uuid": ids["app"]})
        expect(r.get("last_deployment_uuid") == ids.get("deployment"), f"got {short(r)}")
        return f"status {r['status']}, last deployment {r.get('last_deployment_status')}"

    await T.steps([
        ("tools/list", tools_list(c, TOOLS, verbose=False)),
        ("list_deployments", history),
        ("get_app_status", status),
    ])


async def flow(a, scratch):
    sandbox = Sandbox(a.bin, a.tmp, "coolify", [], KEYS)
    try:
        env = sandbox.env
        T.secrets.append(env["COOLIFY_API_TOKEN"])
        T.say(f"setup: Coolify sandbox (pid {sandbox.p.pid}) at {env['COOLIFY_API_URL']}, "
              f"token ******** (not shown)")
        ids = provision(env)
        T.say(f"setup: REST: project {PROJECT} ({ids['project']}), app {APP} ({ids['app']}) "
              f"from {GIT_REPOSITORY} on server {ids['server']['name']}")
        base = server_env(scratch, **{k: env[k] for k in KEYS})
        params = StdioServerParameters(command=a.bin, args=["mcp", "coolify"], env=base)
        guarded = StdioServerParameters(command=a.bin, args=["mcp", "coolify"],
                                        env=base | {"VIBN_PROTECTED_APPS": APP})
        await session(params, "legacy", LEGACY_LABEL, lambda c: legacy_era(c, ids))
        await session(guarded, "legacy", f"refusal: a second server with VIBN_PROTECTED_APPS={APP}",
                      protected_era)
        await session(params, "auto", MODERN_LABEL, lambda c: modern_era(c, ids), want_version=MODERN)
    finally:
        sandbox.stop()
