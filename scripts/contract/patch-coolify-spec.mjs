#!/usr/bin/env node
// patch-coolify-spec.mjs IN OUT — copy of the Coolify OpenAPI spec with the documented
// spec/controller drift that would flag correct requests (reference/coolify.md §10.2):
// create endpoints list BOTH environment_name and environment_uuid as required; the
// controllers need only one.  Rewritten to `anyOf: [{required:[name]},{required:[uuid]}]`.
import fs from 'node:fs';
const [, , inFile, outFile] = process.argv;
if (!inFile || !outFile) { console.error('usage: patch-coolify-spec.mjs IN OUT'); process.exit(2); }
const doc = JSON.parse(fs.readFileSync(inFile, 'utf8'));
let n = 0;
for (const [p, ops] of Object.entries(doc.paths)) {
  for (const [m, op] of Object.entries(ops)) {
    const content = op && op.requestBody && op.requestBody.content;
    if (!content) continue;
    for (const media of Object.values(content)) {
      const s = media.schema;
      if (!s || !Array.isArray(s.required)) continue;
      if (s.required.includes('environment_name') && s.required.includes('environment_uuid')) {
        s.required = s.required.filter(f => f !== 'environment_name' && f !== 'environment_uuid');
        s.anyOf = [{ required: ['environment_name'] }, { required: ['environment_uuid'] }];
        n++;
        console.error(`patched ${m.toUpperCase()} ${p}`);
      }
    }
  }
}
fs.writeFileSync(outFile, JSON.stringify(doc, null, 1));
console.error(`${n} request bodies patched -> ${outFile}`);
