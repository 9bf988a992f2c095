#!/usr/bin/env node
// `npm run mutation [-- <src/domain/file.ts> ...] [-- <stryker options>]`: StrykerJS over src/domain/, one file at a
// time (stryker.config.mjs), each file with its own incremental baseline and reports under .data/mutation/<name>/
// (<name>: the path below src/domain/ without `.ts`, `/` as `-`, e.g. billing-cycle-plan for billing-cycle/plan.ts),
// so a second run of a file re-tests only the mutants whose code or covering tests changed, and runs of different
// files never overwrite each other's baseline. Without file arguments it runs every file of src/domain/ (and of its
// machines' folders, src/domain/<machine>/) in turn.
// Ends with one line per file: its mutation score (killed + timed out over valid mutants) and the counts.
//
// Each file's mutants run only that file's own tests (jest.domain.config.mjs, DOMAIN_TESTS): the files of
// test/unit/domain named after it (`money.test.ts`, `money-errors.test.ts`, `billing-cycle.rules.test.ts`, ...) and
// the ones listed in OWN_TESTS below; a file of a machine's folder (src/domain/billing-cycle/plan.ts) runs the tests of
// that machine's folder of tests (test/unit/domain/billing-cycle/), which all drive the machine through its reducer. A mutant those tests miss is a rule of that file no test of it pins, even when
// some machine's property test happens to reach it. `--all-domain-tests` runs every domain test instead.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const allDomainTests = args.includes('--all-domain-tests');
const files = args.filter((a) => /^src\/domain\/([\w-]+\/)?[\w-]+\.ts$/.test(a));
const passThrough = args.filter((a) => !files.includes(a) && a !== '--all-domain-tests');
const testDir = join(root, 'test', 'unit', 'domain');

/** Tests of a domain file not named after it. */
const OWN_TESTS = {};

/** The test files of test/unit/domain that are a source file's own (`path`: below src/domain/, without `.ts`). */
function ownTests(path) {
  const [folder, name] = path.includes('/') ? path.split('/') : [undefined, path];
  if (folder !== undefined) {
    if (!existsSync(join(testDir, folder))) return [];
    return readdirSync(join(testDir, folder))
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => `${folder}/${f}`)
      .sort();
  }
  const named = readdirSync(testDir).filter(
    (f) => f.endsWith('.test.ts') && (f.startsWith(`${name}.`) || f.startsWith(`${name}-`)),
  );
  return [...new Set([...named, ...(OWN_TESTS[name] ?? [])])].sort();
}
const targets = files.length
  ? files
  : readdirSync(join(root, 'src', 'domain'), { withFileTypes: true })
      .flatMap((e) =>
        e.isDirectory()
          ? readdirSync(join(root, 'src', 'domain', e.name))
              .filter((f) => f.endsWith('.ts'))
              .map((f) => `${e.name}/${f}`)
          : e.name.endsWith('.ts')
            ? [e.name]
            : [],
      )
      .sort()
      .map((f) => `src/domain/${f}`);
for (const f of targets) if (!existsSync(join(root, f))) throw new Error(`no such file: ${f}`);

const stryker = join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
const summary = [];
let failed = false;
for (const file of targets) {
  const path = file.replace(/^src\/domain\//, '').replace(/\.ts$/, '');
  const dir = `.data/mutation/${path.replaceAll('/', '-')}`;
  const tests = allDomainTests ? [] : ownTests(path);
  if (!allDomainTests && tests.length === 0) throw new Error(`no tests of ${file} in test/unit/domain`);
  console.log(`\n==> mutation testing ${file} against ${tests.join(', ') || 'every domain test'} (reports in ${dir}/)`);
  const r = spawnSync(
    process.execPath,
    [
      stryker,
      'run',
      'stryker.config.mjs',
      '--mutate',
      file,
      '--incrementalFile',
      `${dir}/incremental.json`,
      ...passThrough,
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, STRYKER_REPORT_DIR: dir, DOMAIN_TESTS: tests.join(',') },
    },
  );
  if (r.status !== 0) {
    failed = true;
    summary.push(`${file}: stryker exited ${r.status ?? r.signal}`);
    continue;
  }
  summary.push(`${file}: ${score(join(root, dir, 'mutation.json'))}`);
}
console.log(`\nmutation scores:\n${summary.map((l) => `  ${l}`).join('\n')}`);
process.exit(failed ? 1 : 0);

/** The score as Stryker counts it: (killed + timeout) / (killed + timeout + survived + no coverage). */
function score(report) {
  const counts = {};
  for (const f of Object.values(JSON.parse(readFileSync(report, 'utf8')).files))
    for (const m of f.mutants) counts[m.status] = (counts[m.status] ?? 0) + 1;
  const detected = (counts.Killed ?? 0) + (counts.Timeout ?? 0);
  const valid = detected + (counts.Survived ?? 0) + (counts.NoCoverage ?? 0);
  const pct = valid ? ((100 * detected) / valid).toFixed(2) : 'n/a';
  const parts = Object.entries(counts)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `${pct}% (${parts})`;
}
