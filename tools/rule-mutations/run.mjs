#!/usr/bin/env node
// `npm run mutation:rules [-- <id prefix>,...]`: the money review's 27 hand-written mutations of the domain's money
// rules (mutations.json beside this file: one search-and-replace each), each applied to a scratch copy of src/ and
// test/ under .data/rule-mutations/, with the domain's example tests run against it (jest.domain.config.mjs,
// without the *.property.test.ts files: each rule must be caught by a deterministic test, not by a lucky seed;
// RULES_WITH_PROPERTIES=1 adds them). Every mutation must be killed: a survivor is a money rule no test checks.
// Faster than Stryker (a few minutes for all),
// so worth running after any change to src/domain/billing-cycle/, subscription.ts or dunning.ts. A mutation whose
// pattern no longer occurs exactly once is reported (the code moved: update its pattern).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const mutations = JSON.parse(readFileSync(join(root, 'tools', 'rule-mutations', 'mutations.json'), 'utf8'));
const only = process.argv[2]?.split(',');
const jest = join(root, 'node_modules', 'jest', 'bin', 'jest.js');
let bad = 0;
for (const m of mutations) {
  if (only && !only.some((o) => m.id.startsWith(o))) continue;
  const dir = join(root, '.data', 'rule-mutations', m.id);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const d of ['src', 'test']) cpSync(join(root, d), join(dir, d), { recursive: true });
  for (const f of ['jest.config.js', 'jest.domain.config.mjs', 'package.json']) cpSync(join(root, f), join(dir, f));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const file = join(dir, m.file);
  const text = readFileSync(file, 'utf8');
  const n = text.split(m.from).length - 1;
  if (n !== 1) {
    bad++;
    console.log(`${m.id} (${m.rule}): PATTERN FOUND ${n} TIMES in ${m.file}`);
    rmSync(dir, { recursive: true, force: true });
    continue;
  }
  writeFileSync(file, text.replace(m.from, m.to));
  const args = ['-c', 'jest.domain.config.mjs', '--verbose'];
  if (process.env.RULES_WITH_PROPERTIES !== '1') args.push('--testPathIgnorePatterns', '\\.property\\.test\\.ts$');
  const r = spawnSync(process.execPath, [jest, ...args], {
    cwd: dir,
    encoding: 'utf8',
  });
  const out = `${r.stdout}${r.stderr}`;
  const killers = [...out.matchAll(/✕ (.*)$/gm)].map((x) => x[1]);
  if (r.status === 0) bad++;
  console.log(
    `${m.id} (${m.rule}): ${r.status === 0 ? 'SURVIVED' : `killed by ${killers.join(' | ') || 'a failing suite'}`}`,
  );
  rmSync(dir, { recursive: true, force: true });
}
console.log(bad === 0 ? 'every rule mutation was killed' : `${bad} rule mutation(s) survived or no longer apply`);
process.exit(bad === 0 ? 0 : 1);
