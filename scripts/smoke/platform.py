"""`vibn mcp platform` with a scratch keystore, a skills folder (one good skill, one malformed)
and `vibn sandbox search` as SearXNG: memory, skills, versioned PRDs and web search; the modern
era reads back what the first server process stored."""
from mcp import StdioServerParameters

from .core import (LEGACY_LABEL, MODERN, MODERN_LABEL, Sandbox, T, call, expect, refused,
                   server_env, session, short, tools_list)

TOOLS = {"finalize_prd", "get_prd", "get_skill", "list_memory", "list_skills", "save_memory", "web_search"}
KEYS = ["VIBN_SEARXNG_URL", "BRAVE_API_URL", "BRAVE_API_KEY"]
SKILL = "deploy-checklist"
SKILL_MD = f"""---
name: {SKILL}
description: Steps to check before deploying an application.
---
# Deploy checklist

1. The tests pass.
2. The PRD's acceptance criteria are met.
"""
BROKEN_MD = "# No front matter\n\nThis skill has no name or description.\n"
PROJECT = "site"
PRD = ["# Site PRD v1\n\nA one-page site.\n", "# Site PRD v2\n\nA one-page site with a contact form.\n"]
MEMORY = {"key": "deploy-target", "content": "The site deploys to Coolify app 'site' on main.",
          "tags": ["deploy", "coolify"]}


def make_skills(root):
    (root / SKILL).mkdir(parents=True)
    (root / SKILL / "SKILL.md").write_text(SKILL_MD)
    (root / SKILL / "checklist.sh").write_text("#!/bin/sh\necho ok\n")
    (root / "broken").mkdir()
    (root / "broken" / "SKILL.md").write_text(BROKEN_MD)


async def legacy_era(c):
    async def save():
        r = await call(c, "save_memory", MEMORY)
        expect(r.get("created") is True and r["memory"]["key"] == MEMORY["key"], f"got {short(r)}")
        return f"{r['memory']['key']} created, tags {r['memory']['tags']}"

    async def recall():
        r = await call(c, "list_memory", {"query": "coolify"})
        keys = [m["key"] for m in r.get("memories", [])]
        expect(keys == [MEMORY["key"]], f"got {short(r)}")
        return f"{r['total']} match: {keys[0]}"

    async def skills():
        r = await call(c, "list_skills", {})
        names = [s["name"] for s in r.get("skills", [])]
        bad = r.get("malformed", [])
        expect(names == [SKILL] and len(bad) == 1 and bad[0]["path"].endswith("broken"), f"got {short(r, 200)}")
        return f"1 skill ({SKILL}), 1 malformed ({bad[0]['path']}: {short(bad[0]['reason'], 40)})"

    async def skill():
        r = await call(c, "get_skill", {"name": SKILL})
        expect(r.get("content") == SKILL_MD, f"content differs: {short(r)}")
        return f"{r['name']}: {len(r['content'])} bytes, files {r['files']}"

    async def finalize(n):
        r = await call(c, "finalize_prd", {"project": PROJECT, "content": PRD[n - 1]})
        expect(r.get("version") == n, f"want version {n}, got {short(r)}")
        return f"{r['project']} v{r['version']}, {r['bytes']} bytes"

    async def latest():
        r = await call(c, "get_prd", {"project": PROJECT})
        expect(r.get("version") == 2 and r.get("latest") is True and r.get("content") == PRD[1]
               and r.get("versions") == [1, 2], f"got {short(r, 200)}")
        return f"v{r['version']} (latest), versions {r['versions']}"

    async def first():
        r = await call(c, "get_prd", {"project": PROJECT, "version": 1})
        expect(r.get("version") == 1 and r.get("latest") is False and r.get("content") == PRD[0],
               f"got {short(r, 200)}")
        return f"v1 unchanged: {short(r['content'].splitlines()[0], 30)}"

    async def search():
        r = await call(c, "web_search", {"query": "rust"})
        hits = r.get("results", [])
        expect(hits, f"no results: {short(r)}")
        return f"{len(hits)} results from {r['provider']}, first: {short(hits[0].get('title', ''), 30)}"

    await T.steps([
        ("tools/list", tools_list(c, TOOLS)),
        ("save_memory", save),
        ("list_memory 'coolify'", recall),
        ("list_skills", skills),
        (f"get_skill {SKILL}", skill),
        ("get_skill broken is refused", lambda: refused(c, "get_skill", {"name": "broken"}, 422)),
        ("finalize_prd (v1)", lambda: finalize(1)),
        ("finalize_prd (v2)", lambda: finalize(2)),
        ("get_prd (latest)", latest),
        ("get_prd version 1", first),
        ("web_search 'rust'", search),
    ])


async def modern_era(c):
    async def recall():
        r = await call(c, "list_memory", {"tag": "deploy"})
        expect([m["key"] for m in r.get("memories", [])] == [MEMORY["key"]], f"got {short(r)}")
        return f"{MEMORY['key']} survived the restart"

    async def prd():
        r = await call(c, "get_prd", {"project": PROJECT})
        expect(r.get("version") == 2, f"got {short(r)}")
        return f"v{r['version']} of {r['versions']}"

    await T.steps([
        ("tools/list", tools_list(c, TOOLS, verbose=False)),
        ("list_memory tag=deploy", recall),
        ("get_prd (latest)", prd),
    ])


async def flow(a, scratch):
    skills = scratch / "skills"
    make_skills(skills)
    sandbox = Sandbox(a.bin, a.tmp, "search", [], KEYS)
    try:
        env = sandbox.env
        T.secrets.append(env["BRAVE_API_KEY"])
        T.say(f"setup: search sandbox (pid {sandbox.p.pid}) at {env['VIBN_SEARXNG_URL']}")
        T.say(f"setup: keystore {scratch / 'ks.db'}, skills {skills} ({SKILL}, broken)")
        params = StdioServerParameters(command=a.bin, args=["mcp", "platform"], env=server_env(
            scratch, VIBN_KEYSTORE=str(scratch / "ks.db"), VIBN_SEARXNG_URL=env["VIBN_SEARXNG_URL"],
            VIBN_SKILLS_DIR=str(skills)))
        await session(params, "legacy", LEGACY_LABEL, legacy_era)
        await session(params, "auto", MODERN_LABEL, modern_era, want_version=MODERN)
    finally:
        sandbox.stop()
