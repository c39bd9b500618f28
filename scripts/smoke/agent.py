"""`vibn mcp agent` against `vibn sandbox runner` with a scratch keystore: spawn a job, follow
it to the end with progress, list the journal, cancel a second job; the modern era reads the
journal back from the keystore."""
from mcp import StdioServerParameters

from .core import (LEGACY_LABEL, MODERN, MODERN_LABEL, Progress, Sandbox, T, call, expect, refused,
                   server_env, session, short, tools_list)

TOOLS = {"cancel_job", "get_job_status", "list_jobs", "spawn_agent"}
TASK = "Add a contact form to the home page"


async def legacy_era(c, jobs):
    async def spawn(key, task):
        r = await call(c, "spawn_agent", {"agent": "coder", "task": task})
        expect(r.get("job_id") and r.get("agent") == "coder", f"got {short(r)}")
        jobs[key] = r["job_id"]
        return f"job {r['job_id']} {r['status']}"

    async def follow():
        expect("first" in jobs, "nothing was spawned")
        progress = Progress()
        r = await call(c, "get_job_status", {"job_id": jobs["first"], "wait_s": 10}, progress=progress)
        expect(r.get("status") == "completed" and r.get("finished") is True, f"got {short(r, 200)}")
        progress.expect_final("completed")
        return f"{r['status']}: {short(r.get('result', ''), 30)}; {progress.summary()}"

    async def listing():
        r = await call(c, "list_jobs", {})
        mine = {j["job_id"]: j["status"] for j in r.get("jobs", [])}
        expect(mine.get(jobs.get("first")) == "completed" and not r.get("stale"), f"got {short(r, 200)}")
        return f"{len(mine)} job(s): " + ", ".join(f"{k} {v}" for k, v in mine.items())

    async def cancel():
        expect("second" in jobs, "the second job was not spawned")
        r = await call(c, "cancel_job", {"job_id": jobs["second"]})
        expect(r.get("status") == "cancelled" and r.get("finished") is True, f"got {short(r)}")
        return f"job {r['job_id']} {r['status']}"

    await T.steps([
        ("tools/list", tools_list(c, TOOLS)),
        ("spawn_agent coder", lambda: spawn("first", TASK)),
        ("get_job_status wait_s=10 (progress)", follow),
        ("list_jobs", listing),
        ("spawn_agent coder (a second job)", lambda: spawn("second", "Rewrite everything in COBOL")),
        ("cancel_job (the second job)", cancel),
        ("cancel_job (finished job) is refused",
         lambda: refused(c, "cancel_job", {"job_id": jobs.get("first", "none")}, 422)),
    ])


async def modern_era(c, jobs):
    async def listing():
        r = await call(c, "list_jobs", {})
        mine = {j["job_id"]: j["status"] for j in r.get("jobs", [])}
        want = {jobs.get("first"): "completed", jobs.get("second"): "cancelled"}
        expect(mine == want, f"want {want}, got {short(r, 200)}")
        return "journal: " + ", ".join(f"{k} {v}" for k, v in mine.items())

    await T.steps([
        ("tools/list", tools_list(c, TOOLS, verbose=False)),
        ("list_jobs", listing),
    ])


async def flow(a, scratch):
    sandbox = Sandbox(a.bin, a.tmp, "runner", [], ["AGENT_RUNNER_URL"])
    try:
        env = sandbox.env
        T.say(f"setup: runner sandbox (pid {sandbox.p.pid}) at {env['AGENT_RUNNER_URL']}, "
              f"keystore {scratch / 'ks.db'}")
        params = StdioServerParameters(command=a.bin, args=["mcp", "agent"], env=server_env(
            scratch, AGENT_RUNNER_URL=env["AGENT_RUNNER_URL"], VIBN_KEYSTORE=str(scratch / "ks.db")))
        jobs = {}
        await session(params, "legacy", LEGACY_LABEL, lambda c: legacy_era(c, jobs))
        await session(params, "auto", MODERN_LABEL, lambda c: modern_era(c, jobs), want_version=MODERN)
    finally:
        sandbox.stop()
