// Mutation testing of src/domain/ (StrykerJS). Run it through `npm run mutation [-- src/domain/<file>.ts ...]`
// (tools/mutation.mjs: one file at a time, each with its own baseline and reports); docs/mutation.md says how to
// read the result.
//
// Everything Stryker writes goes under .data/mutation/<file>/ (gitignored, and outside lint and format):
// - index.html and mutation.json: the reports;
// - incremental.json: the incremental baseline, so a second run only re-tests mutants whose code or covering tests
//   changed. It is a local cache, not committed: it is derived from the source and the tests, goes stale with every
//   domain change on any branch, and as a large generated JSON file would conflict in nearly every merge.
// The copies of the project the mutants run in go to .data/mutation/<file>/sandbox/ (removed after the run), so
// runs of different files can go side by side.
//
// The machine is shared: one test process at a time, only test/unit/domain (jest.domain.config.mjs: no Temporal
// server), and per-test coverage so each mutant runs only the tests that reach it.

const reportDir = process.env.STRYKER_REPORT_DIR ?? '.data/mutation/all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  packageManager: 'npm',
  mutate: ['src/domain/**/*.ts'],
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: 'jest.domain.config.mjs', enableFindRelatedTests: false },
  coverageAnalysis: 'perTest',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.mutation.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  concurrency: 1,
  timeoutMS: 10_000,
  incremental: true,
  incrementalFile: `${reportDir}/incremental.json`,
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: `${reportDir}/index.html` },
  jsonReporter: { fileName: `${reportDir}/mutation.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false },
  tempDirName: `${reportDir}/sandbox`,
  cleanTempDir: true,
  // The sandbox needs only the sources, the tests and their configs (not the Temporal binaries, bench, docs, ...).
  ignorePatterns: [
    '/*',
    '!/src',
    '!/test',
    '!/package.json',
    '!/jest.config.js',
    '!/jest.domain.config.mjs',
    '!/tsconfig*.json',
  ],
  thresholds: { high: 90, low: 80, break: null },
};

export default config;
