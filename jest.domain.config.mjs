// The domain's unit tests alone (test/unit/domain): the project's jest config without the Temporal dev server
// (globalSetup/globalTeardown) and the Temporal runtime set-up, which pure domain tests never touch. Mutation testing
// (stryker.config.mjs) runs these for every mutant, so they must start fast; `npx jest -c jest.domain.config.mjs`
// runs them the same way by hand.
//
// DOMAIN_TESTS narrows the run to some of these files: a comma-separated list of file names in test/unit/domain (or
// in one folder of it, `billing-cycle/stop.test.ts`)
// (tools/mutation.mjs sets it to the tests of the file it mutates, so a mutant of money.ts runs money's tests, not
// the machines' property tests).
import base from './jest.config.js';

const only = (process.env.DOMAIN_TESTS ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter((name) => name !== '');
for (const name of only) {
  if (!/^([\w-]+\/)?[\w.-]+\.test\.ts$/.test(name)) throw new Error(`DOMAIN_TESTS: "${name}" is not a test file name`);
}

/** @type {import('jest').Config} */
export default {
  testEnvironment: base.testEnvironment,
  transform: base.transform,
  modulePathIgnorePatterns: base.modulePathIgnorePatterns,
  testMatch: only.length ? only.map((name) => `<rootDir>/test/unit/domain/${name}`) : base.testMatch,
  roots: ['<rootDir>/test/unit/domain'],
  testTimeout: base.testTimeout,
  maxWorkers: 1,
};
