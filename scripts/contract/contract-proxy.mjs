#!/usr/bin/env node
// contract-proxy.mjs — run Stoplight Prism as a validating proxy and report spec violations.
//
//   client ──> front :F ──> prism proxy :P ──> back :B ──> upstream (sandbox)
//
// front  accepts  /<api path>                 -> fixed upstream (--upstream NAME=URL)
//                 /_up/<port>/<api path>      -> http://127.0.0.1:<port><prefix><api path>
//        The spec's prefix (Swagger basePath / OAS3 servers[0] path, e.g. /api/v1) is removed
//        if the client sent it, because prism matches paths WITHOUT it.  The front reads
//        prism's `sl-violations` header (and its problem+json errors under --errors), so
//        every violation is tied to the exact request that caused it.
// back   puts the prefix back and sends the request to the upstream named by the
//        x-contract-upstream header (set by the front; prism forwards all headers).
//
// Usage
//   node contract-proxy.mjs --spec gitea=/path/swagger.v1.json [--spec coolify=...]
//        [--upstream gitea=http://127.0.0.1:3000] [--prefix gitea=/api/v1]
//        [--port gitea=0] [--errors] [--fail-on-response] [--report FILE] [--log-dir DIR]
//        [--prism PATH] [--timeout-ms 15000] [--allow NAME=REGEX] [-- COMMAND ARGS...]
//   --allow: request violations on requests whose "METHOD /path?query" matches REGEX are
//   only warnings (e.g. gitea='^\S+ /repos/[^/]+/[^/]+/(contents|raw|media)/' — prism cannot
//   match a {filepath} that contains '/').
//
// Without a COMMAND: prints `CONTRACT_<NAME>_URL=http://127.0.0.1:F` per spec, then
// `CONTRACT_READY` on stdout, runs until SIGINT/SIGTERM, prints the summary.
// With a COMMAND: runs it with CONTRACT_<NAME>_URL in its environment, then prints the
// summary.  Exit code: the command's if it failed, else 1 if a request violation was seen
// (or any response violation with --fail-on-response), else 0.
// Live report: GET http://127.0.0.1:F/_contract/report[?upstream=<port>]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);
const UP_HEADER = 'x-contract-upstream';
const children = [];
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); });

// ---------- arguments ----------
function parseArgs(argv) {
  const o = { specs: {}, upstream: {}, prefix: {}, port: {}, errors: false, failOnResponse: false,
    report: null, logDir: null, prism: null, timeoutMs: 15000, command: null, allow: {} };
  const kv = (s, flag) => { const i = s.indexOf('='); if (i < 1) die(`${flag} wants NAME=VALUE, got ${s}`); return [s.slice(0, i), s.slice(i + 1)]; };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { if (i + 1 >= argv.length) die(`${a} needs a value`); return argv[++i]; };
    if (a === '--') { o.command = argv.slice(i + 1); break; }
    else if (a === '--spec') { const [k, v] = kv(next(), a); o.specs[k] = path.resolve(v); }
    else if (a === '--upstream') { const [k, v] = kv(next(), a); o.upstream[k] = v.replace(/\/+$/, ''); }
    else if (a === '--prefix') { const [k, v] = kv(next(), a); o.prefix[k] = v.replace(/\/+$/, ''); }
    else if (a === '--port') { const [k, v] = kv(next(), a); o.port[k] = Number(v); }
    else if (a === '--allow') { const [k, v] = kv(next(), a); o.allow[k] = new RegExp(v); }
    else if (a === '--errors') o.errors = true;
    else if (a === '--fail-on-response') o.failOnResponse = true;
    else if (a === '--report') o.report = path.resolve(next());
    else if (a === '--log-dir') o.logDir = path.resolve(next());
    else if (a === '--prism') o.prism = next();
    else if (a === '--timeout-ms') o.timeoutMs = Number(next());
    else die(`unknown argument ${a}`);
  }
  if (!Object.keys(o.specs).length) die('at least one --spec NAME=PATH is required');
  return o;
}
function die(msg) { console.error(`contract-proxy: ${msg}`); process.exit(2); }

function specPrefix(file) {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')); // JSON specs only (both of ours are)
  let p = '';
  if (doc.swagger) p = doc.basePath || '';
  else if (doc.servers && doc.servers[0] && doc.servers[0].url) {
    try { p = new URL(doc.servers[0].url, 'http://x').pathname; } catch { p = ''; }
  }
  return p.replace(/\/+$/, '');
}

function findPrism(explicit) {
  const c = [explicit, process.env.PRISM_BIN, path.join(HERE, 'node_modules/.bin/prism'),
    path.join(process.cwd(), 'node_modules/.bin/prism')].filter(Boolean);
  for (const p of c) if (fs.existsSync(p)) return p;
  die(`prism not found (tried ${c.join(', ')}); npm install @stoplight/prism-cli@5.16.0 or set PRISM_BIN`);
}

// ---------- small http helpers ----------
function listen(server, port) {
  return new Promise((res, rej) => { server.once('error', rej); server.listen(port, '127.0.0.1', () => res(server.address().port)); });
}
function copyHeaders(h, drop = []) {
  const out = {};
  for (const [k, v] of Object.entries(h)) if (!HOP.has(k) && !drop.includes(k)) out[k] = v;
  return out;
}

// ---------- one validated endpoint per spec ----------
async function startOne(name, specFile, opts, prismBin, records) {
  const prefix = opts.prefix[name] ?? specPrefix(specFile);
  const fixed = opts.upstream[name] || null;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  // back: prism -> upstream
  const back = http.createServer((req, res) => {
    const up = req.headers[UP_HEADER];
    let base = up ? `http://127.0.0.1:${up}` : fixed;
    if (!base) { res.writeHead(502, { 'content-type': 'application/json' }); res.end('{"message":"contract-proxy: no upstream"}'); return; }
    let p = req.url;
    // prism follows redirects itself; a relative Location already carries the prefix.
    if (!(prefix && (p === prefix || p.startsWith(prefix + '/') || p.startsWith(prefix + '?')))) p = prefix + p;
    const target = new URL(p, base);
    const preq = http.request(target, { method: req.method, headers: copyHeaders(req.headers, [UP_HEADER, 'host']) }, pres => {
      res.writeHead(pres.statusCode, copyHeaders(pres.headers));
      pres.pipe(res);
    });
    preq.on('error', e => { res.writeHead(502, { 'content-type': 'application/json' }); res.end(JSON.stringify({ message: `contract-proxy: upstream ${target.origin}: ${e.message}` })); });
    req.pipe(preq);
  });
  const backPort = await listen(back, 0);

  // prism
  const args = ['proxy', specFile, `http://127.0.0.1:${backPort}`, '--port', '0', '-h', '127.0.0.1'];
  if (opts.errors) args.push('--errors');
  const t0 = Date.now();
  const child = spawn(prismBin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  children.push(child);
  const logFile = opts.logDir ? fs.createWriteStream(path.join(opts.logDir, `prism-${name}.log`)) : null;
  let tail = '';
  const prismUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`prism (${name}) not ready after 60 s:\n${tail}`)), 60000);
    const onData = chunk => {
      const s = chunk.toString();
      if (logFile) logFile.write(s);
      tail = (tail + s).slice(-4000);
      const m = /Prism is listening on (http:\/\/[^\s]+)/.exec(tail);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`prism (${name}) exited with ${code} before it was ready:\n${tail}`)); });
  });
  child.removeAllListeners('exit');
  child.once('exit', code => { if (!stopping) console.error(`contract-proxy: prism (${name}) exited unexpectedly (${code})`); });
  const startupMs = Date.now() - t0;
  const prismTarget = new URL(prismUrl);

  // front: client -> prism
  const front = http.createServer((req, res) => {
    if (req.url.startsWith('/_contract/report')) {
      const q = new URL(req.url, 'http://x').searchParams.get('upstream');
      const list = records.filter(r => r.spec === name && (!q || String(r.upstream) === q));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(list, null, 1));
      return;
    }
    let url = req.url, up = null;
    const m = /^\/_up\/(\d+)(\/.*|\?.*)?$/.exec(url);
    if (m) { up = m[1]; url = m[2] || '/'; if (url.startsWith('?')) url = '/' + url; }
    if (prefix && (url === prefix || url.startsWith(prefix + '/') || url.startsWith(prefix + '?'))) url = url.slice(prefix.length) || '/';
    if (url.startsWith('?')) url = '/' + url;
    const rec = { spec: name, method: req.method, path: url, upstream: up || fixed, status: null, violations: [] };
    const headers = copyHeaders(req.headers, ['host', UP_HEADER]);
    if (up) headers[UP_HEADER] = up;
    const t = Date.now();
    const preq = http.request({ host: prismTarget.hostname, port: prismTarget.port, path: url, method: req.method, headers, agent, timeout: opts.timeoutMs }, pres => {
      rec.status = pres.statusCode;
      rec.ms = Date.now() - t;
      const sl = pres.headers['sl-violations'];
      if (sl) rec.violations.push(...parseViolations(sl));
      const ct = String(pres.headers['content-type'] || '');
      if (ct.startsWith('application/problem+json')) {
        // prism's own errors (--errors, unknown route, security, 422): buffer, record, pass on
        const chunks = [];
        pres.on('data', c => chunks.push(c));
        pres.on('end', () => {
          const body = Buffer.concat(chunks);
          try {
            const pj = JSON.parse(body.toString('utf8'));
            if (String(pj.type || '').startsWith('https://stoplight.io/prism/errors#')) {
              const kind = pj.type.split('#')[1];
              if (rec.violations.length) { /* already read from sl-violations */ }
              else if (Array.isArray(pj.validation) && pj.validation.length) {
                for (const v of pj.validation) {
                  const loc = v.location || [];
                  rec.violations.push({ ...v, location: loc[0] === 'request' || loc[0] === 'response' ? loc : ['request', ...loc], prism: kind });
                }
              } else {
                rec.violations.push({ location: [kind === 'VIOLATIONS' ? 'response' : 'request'], severity: 'Error', code: kind, message: pj.title + (pj.detail ? ` — ${pj.detail}` : ''), prism: kind });
              }
            }
            else if (pj.type && pj.title && pres.statusCode >= 500 && !rec.violations.length) {
              // prism's internal failures (e.g. FetchError on HEAD): shown as warnings
              rec.violations.push({ location: ['proxy'], severity: 'Warning', code: pj.type, message: pj.title });
            }
          } catch {
            if (!body.length && pres.statusCode >= 500) // HEAD: prism 5.16 fails to forward it (FetchError)
              rec.violations.push({ location: ['proxy'], severity: 'Warning', code: pres.statusCode, message: `prism answered ${pres.statusCode} problem+json without a body (HEAD is not proxied)` });
          }
          finish(rec);
          res.writeHead(pres.statusCode, copyHeaders(pres.headers));
          res.end(body);
        });
        return;
      }
      finish(rec);
      res.writeHead(pres.statusCode, copyHeaders(pres.headers));
      pres.pipe(res);
    });
    preq.on('timeout', () => preq.destroy(new Error(`prism gave no answer in ${opts.timeoutMs} ms (a malformed JSON body makes prism 5.16 hang)`)));
    preq.on('error', e => {
      rec.status = 504;
      rec.violations.push({ location: ['request'], severity: 'Error', code: 'NO_ANSWER', message: e.message });
      finish(rec);
      if (!res.headersSent) { res.writeHead(504, { 'content-type': 'application/json' }); res.end(JSON.stringify({ message: `contract-proxy: ${e.message}` })); }
      else res.destroy();
    });
    req.pipe(preq);
  });
  const frontPort = await listen(front, opts.port[name] ?? 0);
  return { name, url: `http://127.0.0.1:${frontPort}`, prefix, startupMs, child, servers: [front, back], logFile };

  function finish(r) {
    const allowed = opts.allow[name] && opts.allow[name].test(`${r.method} ${r.path}`);
    for (const v of r.violations) {
      const l0 = v.location && v.location[0];
      v.kind = l0 === 'response' || l0 === 'proxy' ? l0 : 'request';
      v.fatal = !allowed && v.kind === 'request' && (v.severity === 'Error' || /route not found/i.test(v.message || ''));
    }
    records.push(r);
  }
}

function parseViolations(h) {
  let s = String(h);
  if (s.startsWith('Too many violations! ')) {
    // Prism cuts the header; classify by what the cut list holds.
    const requestSide = /"location":\["request"/.test(s);
    const responseSide = /"location":\["response"/.test(s);
    const where = requestSide || !responseSide ? 'request' : 'response';
    return [{ location: [where], severity: 'Error', code: 'TOO_MANY', message: s.slice(0, 300) }];
  }
  try { return JSON.parse(s); } catch { return [{ location: ['request'], severity: 'Error', code: 'UNPARSEABLE', message: s.slice(0, 300) }]; }
}

// ---------- summary ----------
function summarize(records, endpoints, opts) {
  const lines = [];
  let fatal = 0, resp = 0;
  for (const ep of endpoints) {
    const mine = records.filter(r => r.spec === ep.name);
    const reqV = [], respV = [], warn = [];
    for (const r of mine) for (const v of r.violations) {
      const line = `${r.method} ${r.path} -> ${r.status}${r.upstream ? ` [upstream ${r.upstream}]` : ''}: ${(v.location || []).join('.')} ${v.message}${v.code !== undefined ? ` (${v.code})` : ''}`;
      if (v.fatal) reqV.push(line); else if (v.kind === 'response') respV.push(line); else warn.push(line);
    }
    fatal += reqV.length; resp += respV.length;
    lines.push(`contract[${ep.name}]: ${mine.length} requests, ${reqV.length} request violation(s), ${respV.length} response violation(s), ${warn.length} warning(s)`);
    for (const l of reqV) lines.push(`  REQUEST  ${l}`);
    // Response drift is grouped (array indices folded) so a long run stays readable.
    const groups = new Map();
    for (const r of mine) for (const v of r.violations) {
      if (v.fatal || v.kind !== 'response') continue;
      const key = `${r.method} ${r.path.split('?')[0].replace(/\/[0-9a-f]{6,}|\/\d+/g, '/…')}: ${(v.location || []).join('.').replace(/\.\d+(?=\.|$)/g, '.*')} ${(v.message || '').replace(/property \d+\./, 'property *.')}`;
      groups.set(key, (groups.get(key) || 0) + 1);
    }
    const sorted = [...groups.entries()].sort((a, b) => b[1] - a[1]);
    for (const [k, n] of sorted.slice(0, 40)) lines.push(`  RESPONSE ${k} (x${n})`);
    if (sorted.length > 40) lines.push(`  RESPONSE … ${sorted.length - 40} more kinds (see the report)`);
    for (const l of warn) lines.push(`  WARNING  ${l}`);
  }
  if (opts.report) fs.writeFileSync(opts.report, JSON.stringify({ endpoints: endpoints.map(e => ({ name: e.name, url: e.url, startupMs: e.startupMs })), records: records.filter(r => r.violations.length), requests: records.length }, null, 1));
  return { text: lines.join('\n'), fatal, resp };
}

// ---------- main ----------
let stopping = false;
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.logDir) fs.mkdirSync(opts.logDir, { recursive: true });
  const prismBin = findPrism(opts.prism);
  const records = [];
  let endpoints;
  try {
    endpoints = await Promise.all(Object.entries(opts.specs).map(([n, f]) => startOne(n, f, opts, prismBin, records)));
  } catch (e) { console.error(`contract-proxy: ${e.message}`); process.exit(2); }
  const env = {};
  for (const ep of endpoints) {
    const key = `CONTRACT_${ep.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`;
    env[key] = ep.url;
    console.log(`${key}=${ep.url}`);
    console.error(`contract-proxy: ${ep.name}: prism ready in ${ep.startupMs} ms; send /<path> or /_up/<port>/<path> to ${ep.url} (prefix ${ep.prefix || '(none)'} optional)`);
  }
  console.log('CONTRACT_READY');

  const shutdown = async code => {
    if (stopping) return; stopping = true;
    for (const ep of endpoints) { ep.child.kill('SIGTERM'); ep.servers.forEach(s => { s.close(); s.closeAllConnections?.(); }); ep.logFile?.end(); }
    const s = summarize(records, endpoints, opts);
    console.error(s.text);
    let rc = code || 0;
    if (!rc && (s.fatal > 0 || (opts.failOnResponse && s.resp > 0))) rc = 1;
    setTimeout(() => process.exit(rc), 100);
  };
  process.on('SIGINT', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));

  if (opts.command && opts.command.length) {
    const cmd = spawn(opts.command[0], opts.command.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } });
    cmd.on('exit', (code, sig) => shutdown(code ?? (sig ? 128 : 1)));
    cmd.on('error', e => { console.error(`contract-proxy: ${e.message}`); shutdown(127); });
  }
}
main();
