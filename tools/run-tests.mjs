#!/usr/bin/env node
// Runs jest and ends with a plain `N passed, N failed` line (what CI reads), exiting non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.data', 'jest-results.json');
mkdirSync(dirname(out), { recursive: true });
rmSync(out, { force: true });

const jestBin = join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const res = spawnSync(
  process.execPath,
  [jestBin, '--json', `--outputFile=${out}`, '--forceExit', ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
  },
);

let passed = 0;
let failed = 0;
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
} else {
  failed = 1; // jest died before reporting
}
const code = res.status === 0 && failed === 0 ? 0 : 1;
if (code !== 0 && failed === 0) failed = 1; // a failing run never reports zero failures
console.log(`${passed} passed, ${failed} failed`);
process.exit(code);
