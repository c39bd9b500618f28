#!/usr/bin/env node
// mock-run.mjs — serve the upstream specs as Stoplight Prism *mocks*, behind the validating
// contract proxy, and run a command (the Prism-mock test) against them.
//
//   test ──> contract-proxy front ──> prism proxy (validates request AND response) ──> back
//        ──> round listener :R (adds Prefer: dynamic/seed) ──> prism mock (answers from the spec)
//
// Each spec gets one `prism mock` process and several "round" listeners, all forwarding to
// it: `static` (the spec's examples, or Prism's static fill-ins) and `dynamic-1..N`
// (json-schema-faker data, seeded per round and per request, so a run is reproducible:
// the seed is a hash of the round and the request line, not of the order requests
// arrive in). The command finds them in its environment:
//
//   MOCK_<NAME>_ROUNDS=static=PORT,dynamic-1=PORT,…   (address them as /_up/<PORT>/… on
//   CONTRACT_<NAME>_URL=http://127.0.0.1:F             the contract proxy's front, as usual)
//
// The contract proxy records every request with the response violations Prism found, so
// the command can tell a 5xx caused by an answer the spec allows (a bug) from one caused
// by an answer that violates it; its report is at $CONTRACT_<NAME>_URL/_contract/report.
//
// Usage
//   node mock-run.mjs --spec gitea=PATH --spec coolify=PATH [--rounds 6] [--seed vibn]
//        [--allow NAME=REGEX] [--report FILE] -- COMMAND ARGS...
// Exit code: the contract proxy's (the command's, or 1 on a request that violates the spec).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);
const children = [];
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); });

function die(msg) { console.error(`mock-run: ${msg}`); process.exit(2); }

function parseArgs(argv) {
  const o = { specs: {}, rounds: 6, seed: 'vibn', allow: [], report: null, command: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { if (i + 1 >= argv.length) die(`${a} needs a value`); return argv[++i]; };
    if (a === '--') { o.command = argv.slice(i + 1); break; }
    else if (a === '--spec') { const v = next(); const k = v.indexOf('='); if (k < 1) die(`--spec wants NAME=PATH, got ${v}`); o.specs[v.slice(0, k)] = path.resolve(v.slice(k + 1)); }
    else if (a === '--rounds') o.rounds = Number(next());
    else if (a === '--seed') o.seed = next();
    else if (a === '--allow') o.allow.push(next());
    else if (a === '--report') o.report = path.resolve(next());
    else die(`unknown argument ${a}`);
  }
  if (!Object.keys(o.specs).length) die('at least one --spec NAME=PATH is required');
  if (!o.command || !o.command.length) die('a command is required after --');
  if (!(o.rounds >= 0)) die('--rounds wants a number');
  return o;
}

function specPrefix(file) {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  let p = '';
  if (doc.swagger) p = doc.basePath || '';
  else if (doc.servers && doc.servers[0] && doc.servers[0].url) {
    try { p = new URL(doc.servers[0].url, 'http://x').pathname; } catch { p = ''; }
  }
  return p.replace(/\/+$/, '');
}

function listen(server) {
  return new Promise((res, rej) => { server.once('error', rej); server.listen(0, '127.0.0.1', () => res(server.address().port)); });
}

// One `prism mock` on a free port; resolves to its URL once it listens.
function startMock(name, specFile, prismBin) {
  const child = spawn(prismBin, ['mock', specFile, '--port', '0', '-h', '127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  children.push(child);
  let tail = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`prism mock (${name}) not ready after 120 s:\n${tail}`)), 120000);
    const onData = chunk => {
      tail = (tail + chunk.toString()).slice(-4000);
      const m = /Prism is listening on (http:\/\/[^\s]+)/.exec(tail);
      if (m) { clearTimeout(timer); resolve(new URL(m[1])); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`prism mock (${name}) exited with ${code}:\n${tail}`)); });
  });
}

// A listener that forwards to the mock with the round's preferences.
async function startRound(round, prefix, mock, baseSeed) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const server = http.createServer((req, res) => {
    let url = req.url;
    // The contract proxy's back puts the spec's prefix back; the mock matches without it.
    if (prefix && (url === prefix || url.startsWith(prefix + '/') || url.startsWith(prefix + '?'))) url = url.slice(prefix.length) || '/';
    if (url.startsWith('?')) url = '/' + url;
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && k !== 'host' && k !== 'prefer') headers[k] = v;
    if (round.dynamic) {
      const seed = createHash('sha256').update(`${baseSeed}|${round.name}|${req.method} ${url}`).digest('hex').slice(0, 16);
      headers.prefer = `dynamic=true, seed=${seed}`;
    }
    const preq = http.request({ host: mock.hostname, port: mock.port, path: url, method: req.method, headers, agent }, pres => {
      const out = {};
      for (const [k, v] of Object.entries(pres.headers)) if (!HOP.has(k)) out[k] = v;
      res.writeHead(pres.statusCode, out);
      pres.pipe(res);
    });
    preq.on('error', e => {
      if (!res.headersSent) { res.writeHead(502, { 'content-type': 'application/json' }); res.end(JSON.stringify({ message: `mock-run: ${e.message}` })); }
      else res.destroy();
    });
    req.pipe(preq);
  });
  return { name: round.name, port: await listen(server), server };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const prismBin = [process.env.PRISM_BIN, path.join(HERE, 'node_modules/.bin/prism')].filter(Boolean).find(p => fs.existsSync(p));
  if (!prismBin) die('prism not found; npm ci --prefix scripts/contract');
  const rounds = [{ name: 'static', dynamic: false }];
  for (let i = 1; i <= o.rounds; i++) rounds.push({ name: `dynamic-${i}`, dynamic: true });

  const env = {};
  const servers = [];
  const t0 = Date.now();
  try {
    await Promise.all(Object.entries(o.specs).map(async ([name, file]) => {
      const mock = await startMock(name, file, prismBin);
      const listeners = await Promise.all(rounds.map(r => startRound(r, specPrefix(file), mock, o.seed)));
      servers.push(...listeners.map(l => l.server));
      env[`MOCK_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_ROUNDS`] = listeners.map(l => `${l.name}=${l.port}`).join(',');
    }));
  } catch (e) { die(e.message); }
  console.error(`mock-run: ${Object.keys(o.specs).join(', ')} mocked in ${Date.now() - t0} ms; rounds: ${rounds.map(r => r.name).join(', ')} (seed ${o.seed})`);

  const args = [path.join(HERE, 'contract-proxy.mjs')];
  for (const [name, file] of Object.entries(o.specs)) args.push('--spec', `${name}=${file}`);
  for (const a of o.allow) args.push('--allow', a);
  if (o.report) args.push('--report', o.report);
  args.push('--', ...o.command);
  const proxy = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  children.push(proxy);
  const stop = () => { if (proxy.exitCode === null) proxy.kill('SIGTERM'); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  proxy.on('exit', (code, sig) => {
    for (const s of servers) { s.close(); s.closeAllConnections?.(); }
    process.exit(code ?? (sig ? 128 : 1));
  });
}
main();
