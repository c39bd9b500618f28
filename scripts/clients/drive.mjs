#!/usr/bin/env node
// drive.mjs: every vibn MCP server driven by the real clients users run, against the local
// stand-ins `vibn sandbox …` (issue 10 item 6). Run by scripts/test after the cargo tests:
//
//   node scripts/clients/drive.mjs --bin target/debug/vibn [--only workspace,gitea]
//
// For each server (workspace, gitea, coolify, platform, agent, and control-plane over
// `vibn sandbox up`, which provisions a workspace in the stand-ins; control-plane-http is
// the same control plane served by `vibn serve` over Streamable HTTP, the key sent as
// `Authorization: Bearer`, driven by both SDKs' HTTP transports):
//   - MCP Inspector CLI: `--strict tools/list` exits 0 with nothing on stderr (zero
//     portability problems), and a failing call exits 5 with the server's message readable;
//   - every tool's input and output schema compiles under JSON Schema 2020-12 (ajv, strict);
//   - the TypeScript SDK v1 (legacy initialize) and v2 (`auto`: 2026-07-28) call every tool
//     (successes and refusals): the client must accept each result (v1 and v2 validate
//     structuredContent against the outputSchema and throw otherwise), success results must
//     match the outputSchema, and each error result must carry {error, status, hint} as
//     readable JSON text with the expected status.
// Prints one line per check; exit 0 only when every check passed. Needs git (for the
// workspace server's push) and the packages of package-lock.json (`npm ci`).

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { Client as ClientV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Ajv2020 from 'ajv/dist/2020.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const INSPECTOR = path.join(here, 'node_modules', '.bin', 'mcp-inspector');
const SERVERS = ['workspace', 'gitea', 'coolify', 'platform', 'agent', 'control-plane', 'control-plane-http'];
const CALL_TIMEOUT_MS = 30_000;

const { values: opts } = parseArgs({
  options: { bin: { type: 'string' }, only: { type: 'string' } },
});
if (!opts.bin) {
  console.error('usage: drive.mjs --bin PATH/TO/vibn [--only server,server]');
  process.exit(2);
}
const BIN = path.resolve(opts.bin);
const only = opts.only ? opts.only.split(',') : SERVERS;

let passed = 0;
const failed = [];
function check(label, fn) {
  return Promise.resolve()
    .then(fn)
    .then(
      (note) => {
        passed += 1;
        console.log(`  PASS ${label}${note ? `: ${note}` : ''}`);
      },
      (e) => {
        failed.push(label);
        console.log(`  FAIL ${label}: ${e?.message ?? e}`);
      },
    );
}
function expect(cond, message) {
  if (!cond) throw new Error(message);
}
const short = (v, n = 160) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
};

// ---- stand-ins -------------------------------------------------------------------------

/** `vibn sandbox KIND ARGS` until stop(); its `KEY=value` lines become `env`. */
async function sandbox(kind, args, keys, scratch) {
  const log = fs.openSync(path.join(scratch, `${kind}.log`), 'w');
  const p = spawn(BIN, ['sandbox', kind, ...args], { stdio: ['ignore', 'pipe', log] });
  const env = {};
  let buf = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} sandbox printed no environment`)), 15_000);
    p.on('exit', (code) => reject(new Error(`${kind} sandbox exited (${code})`)));
    p.stdout.on('data', (chunk) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const line of lines) {
        const at = line.indexOf('=');
        if (at > 0) env[line.slice(0, at)] = unquote(line.slice(at + 1));
      }
      if (keys.every((k) => k in env)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { env, stop: () => p.kill('SIGTERM') };
}

/** A value as `vibn sandbox` prints it: plain, or single-quoted for the shell. */
function unquote(v) {
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) {
    return v.slice(1, -1).replaceAll(`'\\''`, `'`);
  }
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return JSON.parse(v);
  return v;
}

function git(args, options = {}) {
  return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

/** One server's stand-ins, environment, server args and calls. */
const SETUPS = {
  async workspace(scratch) {
    const repos = path.join(scratch, 'repos');
    const sb = await sandbox('git-http', ['--repos', repos, '--create', 'demo/site', '--port', '0'],
      ['GITEA_API_URL', 'GITEA_USERNAME', 'GITEA_API_TOKEN'], scratch);
    const ws = path.join(scratch, 'ws');
    // The token reaches git through a credential helper fed from the environment.
    const helper = '!f() { test "$1" = get || exit 0; printf "username=%s\\npassword=%s\\n" "$U" "$T"; }; f';
    git(['-c', 'credential.helper=', '-c', `credential.helper=${helper}`, 'clone', '-q',
      `${sb.env.GITEA_API_URL}/demo/site.git`, ws],
    { env: { ...process.env, U: sb.env.GITEA_USERNAME, T: sb.env.GITEA_API_TOKEN, GIT_TERMINAL_PROMPT: '0' } });
    try {
      git(['-C', ws, 'rev-parse', '--verify', '-q', 'HEAD']);
    } catch {
      git(['-C', ws, 'symbolic-ref', 'HEAD', 'refs/heads/main']);
    }
    const page = (who) => `<h1>Hello from ${who}</h1>\n`;
    return {
      stop: sb.stop,
      env: pick(sb.env, ['GITEA_API_URL', 'GITEA_USERNAME', 'GITEA_API_TOKEN']),
      args: ['--root', ws],
      failing: { tool: 'read_file', args: { path: 'nope.txt' }, status: 404 },
      calls: (who) => [
        ['write_file', { path: 'index.html', content: page(who) }],
        ['read_file', { path: 'index.html' }],
        ['replace_in_file', { path: 'index.html', old: 'Hello', new: 'Hi', dry_run: true }],
        ['list_directory', {}],
        ['find_files', { glob: '*.html' }],
        ['search_code', { pattern: 'Hello' }],
        // The command sandbox may be unavailable on a CI machine (a 503 result).
        ['execute_command', { command: 'echo hi' }, 'any'],
        ['git_commit_and_push', { message: `page from ${who}`, branch: 'main' }, 'any'],
        ['git_pull', {}, 'any'],
        ['git_clone', { repo: 'demo/site', dir: `copies/${who.replace(/[^A-Za-z0-9]+/g, '-')}` }, 'any'],
        ['read_file', { path: 'nope.txt' }, 404],
        ['read_file', { path: '../etc/passwd' }, 403],
      ],
    };
  },

  async gitea(scratch) {
    const sb = await sandbox('gitea', ['--create', 'acme/site', '--data', path.join(scratch, 'data')],
      ['GITEA_API_URL', 'GITEA_USERNAME', 'GITEA_API_TOKEN'], scratch);
    const ids = {};
    return {
      stop: sb.stop,
      env: pick(sb.env, ['GITEA_API_URL', 'GITEA_USERNAME', 'GITEA_API_TOKEN']),
      args: [],
      failing: { tool: 'read_repo_file', args: { repo: 'acme/site', path: 'nope.md' }, status: 404 },
      calls: (who) => [
        ['list_repos', { owner: 'acme' }],
        ['create_issue', { repo: 'acme/site', title: `filed by ${who}` }, 'ok',
          (r) => { ids.issue = r.number; }],
        ['list_issues', { repo: 'acme/site' }],
        ['list_all_issues', {}],
        ['read_repo_file', { repo: 'acme/site', path: 'README.md' }],
        ['close_issue', () => ({ repo: 'acme/site', number: ids.issue, comment: 'done' })],
        ['read_repo_file', { repo: 'acme/site', path: 'nope.md' }, 404],
        ['list_issues', { repo: 'acme/nope' }, 404],
      ],
    };
  },

  async coolify(scratch) {
    const sb = await sandbox('coolify', [], ['COOLIFY_API_URL', 'COOLIFY_API_TOKEN'], scratch);
    const rest = async (method, p, body) => {
      const r = await fetch(sb.env.COOLIFY_API_URL + p, {
        method,
        headers: { Authorization: `Bearer ${sb.env.COOLIFY_API_TOKEN}`, 'Content-Type': 'application/json', Accept: 'application/json' },
        body: body && JSON.stringify(body),
      });
      expect(r.ok, `${method} ${p}: HTTP ${r.status}`);
      return r.json();
    };
    const project = (await rest('POST', '/projects', { name: 'demo' })).uuid;
    const server = (await rest('GET', '/servers'))[0].uuid;
    // The stand-in refuses git URLs on IPs or localhost, as Coolify does.
    const app = (await rest('POST', '/applications/public', {
      project_uuid: project, server_uuid: server, environment_name: 'production',
      git_repository: 'https://git.example.com/acme/site', git_branch: 'main',
      build_pack: 'nixpacks', ports_exposes: '3000', name: 'site',
    })).uuid;
    const ids = {};
    return {
      stop: sb.stop,
      env: pick(sb.env, ['COOLIFY_API_URL', 'COOLIFY_API_TOKEN']),
      args: [],
      failing: { tool: 'get_app_status', args: { uuid: 'nope' }, status: 404 },
      calls: () => [
        ['list_projects', {}],
        ['list_applications', { project_uuid: project }],
        ['list_all_apps', {}],
        ['get_app_status', { uuid: app }],
        ['get_logs', { uuid: app }, 'any'],
        ['deploy', { uuid: app }],
        ['deploy_app', { name: 'site' }, 'ok', (r) => { ids.deployment = r.deployment_uuid; }],
        ['list_deployments', { uuid: app }],
        ['get_deployment', () => ({ deployment_uuid: ids.deployment })],
        ['get_app_status', { uuid: 'nope' }, 404],
        ['deploy_app', { name: 'nope' }, 404],
      ],
    };
  },

  async platform(scratch) {
    const sb = await sandbox('search', [], ['VIBN_SEARXNG_URL'], scratch);
    const skills = path.join(scratch, 'skills');
    fs.mkdirSync(path.join(skills, 'deploy-app'), { recursive: true });
    fs.writeFileSync(path.join(skills, 'deploy-app', 'SKILL.md'),
      '---\nname: deploy-app\ndescription: Ship the app.\n---\n# Deploy\nRun the checks, then deploy.\n');
    return {
      stop: sb.stop,
      env: {
        VIBN_SEARXNG_URL: sb.env.VIBN_SEARXNG_URL,
        VIBN_KEYSTORE: path.join(scratch, 'ks.db'),
        VIBN_SKILLS_DIR: skills,
      },
      args: [],
      failing: { tool: 'get_prd', args: { project: 'nope' }, status: 404 },
      calls: (who) => [
        ['save_memory', { key: `stack-${who}`, content: 'Rust and Coolify', tags: ['stack'] }],
        ['list_memory', { query: 'coolify' }],
        ['list_skills', {}],
        ['get_skill', { name: 'deploy-app' }],
        ['finalize_prd', { project: 'shop', content: `# Shop\nWritten by ${who}.\n` }],
        ['get_prd', { project: 'shop' }],
        ['web_search', { query: 'rust' }],
        ['get_prd', { project: 'nope' }, 404],
        ['get_skill', { name: 'nope' }, 404],
      ],
    };
  },

  async agent(scratch) {
    const sb = await sandbox('runner', [], ['AGENT_RUNNER_URL'], scratch);
    const ids = {};
    return {
      stop: sb.stop,
      env: { AGENT_RUNNER_URL: sb.env.AGENT_RUNNER_URL, VIBN_KEYSTORE: path.join(scratch, 'ks.db') },
      args: [],
      failing: { tool: 'get_job_status', args: { job_id: 'nope' }, status: 404 },
      calls: (who) => [
        ['spawn_agent', { agent: 'coder', task: `write a test (${who})` }, 'ok', (r) => { ids.job = r.job_id; }],
        ['get_job_status', () => ({ job_id: ids.job })],
        ['list_jobs', {}],
        // The job may have finished already: cancelling it is then a 422 result.
        ['cancel_job', () => ({ job_id: ids.job }), 'any'],
        ['get_job_status', { job_id: 'nope' }, 404],
      ],
    };
  },

  // The control plane over `vibn sandbox up`: every stand-in and a provisioned workspace.
  async 'control-plane'(scratch) {
    const sb = await sandbox('up', [], ['WORKSPACE_ROOT'], scratch);
    const ids = {};
    return {
      stop: sb.stop,
      env: pick(sb.env, ['VIBN_API_KEY', 'VIBN_KEYSTORE', 'VIBN_SECRETS_KEY', 'GITEA_API_URL',
        'GITEA_USERNAME', 'GITEA_API_TOKEN', 'COOLIFY_API_URL', 'COOLIFY_API_TOKEN', ...PROVIDERS]),
      args: [],
      failing: { tool: 'apps_get', args: { uuid: 'nope' }, status: 403 },
      calls: (who) => controlPlaneCalls(who, ids),
    };
  },

  // The same control plane served by `vibn serve` (one process for every workspace) over
  // Streamable HTTP: the clients send the workspace key as a bearer header.
  async 'control-plane-http'(scratch) {
    const sb = await sandbox('up', [], ['WORKSPACE_ROOT'], scratch);
    const env = pick(sb.env, ['VIBN_KEYSTORE', 'VIBN_SECRETS_KEY', 'GITEA_API_URL',
      'GITEA_USERNAME', 'GITEA_API_TOKEN', 'COOLIFY_API_URL', 'COOLIFY_API_TOKEN', ...PROVIDERS]);
    const served = await serve(env, scratch);
    const ids = {};
    return {
      stop: () => { served.stop(); sb.stop(); },
      url: `${served.base}/mcp`,
      key: sb.env.VIBN_API_KEY,
      env,
      args: [],
      calls: (who) => controlPlaneCalls(`h${who}`, ids),
    };
  },
};

/** The registrar and Google settings `vibn sandbox up` prints (domains and storage). */
const PROVIDERS = ['OPENSRS_USERNAME', 'OPENSRS_KEY', 'OPENSRS_ENV', 'GOOGLE_APPLICATION_CREDENTIALS',
  'GCP_PROJECT', 'VIBN_GOOGLE_API_URL'];

/** A registrant contact the OpenSRS stand-in accepts. */
const CONTACT = {
  first_name: 'Client', last_name: 'Check', address1: '1 Main St', city: 'Montréal', state: 'QC',
  country: 'CA', postal_code: 'H2X 1Y4', phone: '+1.5145550100', email: 'client@vibn.invalid',
};

/** The control plane's calls (successes and refusals) as client `who`. */
function controlPlaneCalls(who, ids) {
  return [
      ['workspace_describe', {}],
      ['gitea_credentials', {}],
      ['projects_list', {}],
      ['projects_get', { project_id: 'nope' }, 'any'],
      ['repos_create', { name: `site-${who}` }],
      ['repos_list', {}],
      ['apps_create', { repo: `site-${who}`, instant_deploy: false }, 'ok',
        (r) => { ids.app = r.uuid; ids.name = r.name; }],
      ['apps_list', {}],
      ['apps_get', () => ({ uuid: ids.app })],
      ['apps_update', () => ({ uuid: ids.app, patch: { ports_exposes: '8080' } }), 'any'],
      ['apps_rewire_git', () => ({ uuid: ids.app })],
      ['apps_domains_list', () => ({ uuid: ids.app })],
      ['apps_domains_set', () => ({ uuid: ids.app, domains: [`api-${who}.demo.vibnai.com`] })],
      ['apps_domains_set', () => ({ uuid: ids.app, domains: ['evil.com'] }), 403],
      ['apps_envs_upsert', () => ({ uuid: ids.app, key: 'DATABASE_URL', value: 'postgres://db/app' })],
      ['apps_envs_list', () => ({ uuid: ids.app })],
      ['apps_envs_delete', () => ({ uuid: ids.app, key: 'DATABASE_URL' })],
      ['apps_envs_upsert', () => ({ uuid: ids.app, key: 'bad-key', value: 'x' }), 400],
      ['apps_deploy', () => ({ uuid: ids.app }), 'ok', (r) => { ids.deployment = r.deployment_uuid; }],
      ['apps_deployments', () => ({ uuid: ids.app })],
      ['deployments_logs', () => ({ deployment_uuid: ids.deployment })],
      ['apps_logs', () => ({ uuid: ids.app }), 'any'],
      ['databases_create', { type: 'postgresql', name: `db-${who}` }, 'ok',
        (r) => { ids.db = r.uuid; ids.dbName = r.name; }],
      ['databases_list', {}],
      ['databases_get', () => ({ uuid: ids.db })],
      ['databases_update', () => ({ uuid: ids.db, patch: { description: 'made by a client' } }), 'any'],
      ['databases_delete', () => ({ uuid: ids.db }), 409],
      ['databases_delete', () => ({ uuid: ids.db, confirm: ids.dbName })],
      ['auth_create', { provider: 'pocketbase', name: `auth-${who}` }, 'ok',
        (r) => { ids.auth = r.uuid; ids.authName = r.name; }],
      ['auth_list', {}],
      ['auth_delete', () => ({ uuid: ids.auth, confirm: ids.authName })],
      ['domains_search', { names: [`shop-${who}.com`, `shop-${who}.ai`] }],
      ['domains_register', { domain: `shop-${who}.com`, contact: CONTACT }],
      ['domains_register', { domain: `shop-${who}.ca`, contact: CONTACT }, 400],
      ['domains_list', {}],
      ['domains_get', { domain: `shop-${who}.com` }],
      ['domains_attach', () => ({ domain: `shop-${who}.com`, app_uuid: ids.app, ip: '203.0.113.10' })],
      ['storage_describe', {}, 'any'],
      ['storage_provision', {}],
      ['storage_inject_env', () => ({ uuid: ids.app })],
      ['apps_delete', () => ({ uuid: ids.app }), 409],
      ['apps_delete', () => ({ uuid: ids.app, confirm: ids.name })],
      ['apps_get', { uuid: 'nope' }, 403],
  ];
}

/** `vibn serve --listen 127.0.0.1:0` until stop(); its base URL from the ready line. */
async function serve(env, scratch) {
  const log = fs.openSync(path.join(scratch, 'serve.log'), 'w');
  const p = spawn(BIN, ['serve', '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH, HOME: scratch, ...env },
  });
  let buf = '';
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('vibn serve did not say where it listens')), 15_000);
    p.stderr.on('data', (c) => {
      fs.writeSync(log, c);
      buf += c;
      const m = buf.match(/vibn serve listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    p.on('exit', (code) => reject(new Error(`vibn serve exited ${code}: ${short(buf, 400)}`)));
  });
  p.stderr.on('data', (c) => fs.writeSync(log, c));
  return { base, stop: () => p.kill('SIGTERM') };
}


function pick(env, keys) {
  return Object.fromEntries(keys.map((k) => [k, env[k]]));
}

// ---- checks ----------------------------------------------------------------------------

function serverEnv(scratch, vars) {
  const home = path.join(scratch, 'home');
  fs.mkdirSync(home, { recursive: true });
  return { PATH: process.env.PATH, HOME: home, ...vars };
}

function inspector(args, env) {
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  return new Promise((resolve) => {
    const p = spawn(INSPECTOR, ['--cli', ...envArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => { stdout += c; });
    p.stderr.on('data', (c) => { stderr += c; });
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The body of an error result: its text, parsed as {error, status, hint}. */
function errorBody(result) {
  expect(result.structuredContent === undefined, 'an error result carries no structuredContent');
  const text = (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('');
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`error text is not JSON: ${short(text)}`);
  }
  expect(typeof body.error === 'string' && body.error.length > 0, `no readable message: ${short(text)}`);
  expect(Number.isInteger(body.status), `no status: ${short(text)}`);
  return body;
}

async function withClient(kind, command, args, env, body, http) {
  let client;
  if (http) {
    const requestInit = { headers: { Authorization: `Bearer ${http.key}` } };
    if (kind === 'v1') {
      client = new ClientV1({ name: 'vibn-ci', version: '0' });
      await client.connect(new HttpV1(new URL(http.url), { requestInit }));
    } else {
      client = new ClientV2({ name: 'vibn-ci', version: '0' }, { versionNegotiation: { mode: 'auto' } });
      await client.connect(new HttpV2(new URL(http.url), { requestInit }));
    }
  } else if (kind === 'v1') {
    client = new ClientV1({ name: 'vibn-ci', version: '0' });
    await client.connect(new StdioV1({ command, args, env, stderr: 'ignore' }));
  } else {
    client = new ClientV2({ name: 'vibn-ci', version: '0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StdioV2({ command, args, env, stderr: 'ignore' }));
  }
  try {
    return await body(client);
  } finally {
    await client.close();
  }
}

async function driveServer(server) {
  console.log(`== vibn mcp ${server} ==`);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `vibn-clients-${server}-`));
  let setup;
  try {
    setup = await SETUPS[server](scratch);
  } catch (e) {
    failed.push(`${server}: setup`);
    console.log(`  FAIL ${server}: setup: ${e.message}`);
    return;
  }
  const env = serverEnv(scratch, setup.env);
  const serverArgs = ['mcp', server, ...setup.args];
  const http = setup.url ? { url: setup.url, key: setup.key } : undefined;
  try {
    if (!http) await check(`${server}: Inspector --strict tools/list, zero problems`, async () => {
      const r = await inspector(['--method', 'tools/list', '--strict', '--', BIN, ...serverArgs], setup.env);
      expect(r.code === 0 && r.stderr.trim() === '', `exit ${r.code}: ${short(r.stderr, 400)}`);
      return `${JSON.parse(r.stdout).tools.length} tools`;
    });
    if (!http) await check(`${server}: Inspector failing call exits 5 with the server's message`, async () => {
      const f = setup.failing;
      const pairs = Object.entries(f.args).map(([k, v]) => `${k}=${v}`);
      const r = await inspector(['--format', 'json', '-q', '--method', 'tools/call', '--tool-name', f.tool,
        '--tool-arg', ...pairs, '--', BIN, ...serverArgs], setup.env);
      expect(r.code === 5, `exit ${r.code}: ${short(r.stdout + r.stderr, 400)}`);
      const body = errorBody(JSON.parse(r.stdout).result);
      expect(body.status === f.status, `status ${body.status}, want ${f.status}`);
      return `${f.tool}: ${short(body.error, 80)}`;
    });
    for (const kind of ['v1', 'v2']) {
      const label = (kind === 'v1' ? 'TS SDK v1 1.32.2 (initialize)' : 'TS SDK v2 2.4.0 (auto: 2026-07-28)')
        + (http ? ' over Streamable HTTP' : '');
      await check(`${server}: ${label}`, () => withClient(kind, BIN, serverArgs, env, async (client) => {
        if (kind === 'v2') {
          const version = client.getNegotiatedProtocolVersion();
          expect(version === '2026-07-28', `negotiated ${version}, want 2026-07-28`);
        }
        const { tools } = await client.listTools();
        if (kind === 'v1') compileSchemas(tools);
        const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
        const seen = new Set();
        const notes = [];
        for (const [tool, rawArgs, want = 'ok', save] of setup.calls(kind)) {
          const args = typeof rawArgs === 'function' ? rawArgs() : rawArgs;
          let r;
          try {
            r = await client.callTool({ name: tool, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS });
          } catch (e) {
            throw new Error(`${tool} ${short(args, 60)}: the client rejected the result: ${e.message}`);
          }
          seen.add(tool);
          if (r.isError) {
            const body = errorBody(r);
            expect(want !== 'ok', `${tool} failed: ${short(body)}`);
            expect(want === 'any' || body.status === want, `${tool}: status ${body.status}, want ${want}`);
            notes.push(`${tool}→${body.status}`);
          } else {
            expect(want === 'ok' || want === 'any', `${tool}: succeeded, want status ${want}`);
            const validate = outputValidator(byName[tool]);
            expect(validate(r.structuredContent), `${tool}: ${short(validate.errors)}`);
            if (save) save(r.structuredContent);
          }
        }
        const missing = tools.map((t) => t.name).filter((n) => !seen.has(n));
        expect(missing.length === 0, `tools never called: ${missing.join(', ')}`);
        return `${seen.size} tools called; refusals read: ${notes.join(', ')}`;
      }, http));
    }
  } finally {
    setup.stop();
  }
}

const ajv = new Ajv2020({ strict: true, allErrors: true });
const validators = new Map();

/** Every tool's input and output schema compiles as JSON Schema 2020-12 (strict ajv). */
function compileSchemas(tools) {
  for (const tool of tools) {
    try {
      ajv.compile(tool.inputSchema);
    } catch (e) {
      throw new Error(`${tool.name}: inputSchema does not compile: ${e.message}`);
    }
    outputValidator(tool);
  }
}

function outputValidator(tool) {
  if (!validators.has(tool.name)) {
    try {
      validators.set(tool.name, ajv.compile(tool.outputSchema));
    } catch (e) {
      throw new Error(`${tool.name}: outputSchema does not compile: ${e.message}`);
    }
  }
  return validators.get(tool.name);
}

for (const server of only) {
  validators.clear();
  await driveServer(server);
}
console.log(`== clients: ${passed} passed, ${failed.length} failed ==`);
for (const f of failed) console.log(`  failed: ${f}`);
process.exit(failed.length ? 1 : 0);
