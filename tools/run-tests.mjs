#!/usr/bin/env node
// Runs jest and ends with a plain `N passed, N failed` line (what CI reads), exiting non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.data', 'jest-results.json');
mkdirSync(dirname(out), { recursive: true });
rmSync(out, { force: true });

const jestBin = join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const args = process.argv.slice(2);

/** One jest run; its totals come from the JSON report (a run that died before reporting counts as a failure). */
function runJest(extra) {
  rmSync(out, { force: true });
  const res = spawnSync(process.execPath, [jestBin, '--json', `--outputFile=${out}`, '--forceExit', ...extra], {
    cwd: root,
    stdio: 'inherit',
  });
  if (!existsSync(out)) return { ok: false, passed: 0, failed: 1 };
  const r = JSON.parse(readFileSync(out, 'utf8'));
  const failed = r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
  return { ok: res.status === 0 && failed === 0, passed: r.numPassedTests, failed };
}

const runs = [runJest(args)];
// `npm test` (no arguments) ends with the chaos slice, alone on the machine: one fast-mode seed on the time-skipping
// server and a short process-mode run (dev server, API, sandbox and workers as processes, with kills). It runs after
// the rest because, side by side with other suites on two cores, its simulated year crawled.
if (args.length === 0) {
  console.log('\n==> chaos slice (test/chaos): one fast-mode seed and a short process-mode run');
  runs.push(runJest(['--testPathIgnorePatterns=/node_modules/', 'test/chaos']));
}
const passed = runs.reduce((s, r) => s + r.passed, 0);
let failed = runs.reduce((s, r) => s + r.failed, 0);
const code = runs.every((r) => r.ok) ? 0 : 1;
if (code !== 0 && failed === 0) failed = 1; // a failing run never reports zero failures
// What CI keeps: the totals of every run of this command.
writeFileSync(out, JSON.stringify({ numPassedTests: passed, numFailedTests: failed }));
console.log(`${passed} passed, ${failed} failed`);
process.exit(code);
