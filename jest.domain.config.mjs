// The domain's unit tests alone (test/unit/domain): the project's jest config without the Temporal dev server
// (globalSetup/globalTeardown) and the Temporal runtime set-up, which pure domain tests never touch. Mutation testing
// (stryker.config.mjs) runs these for every mutant, so they must start fast; `npx jest -c jest.domain.config.mjs`
// runs them the same way by hand.
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  testEnvironment: base.testEnvironment,
  transform: base.transform,
  modulePathIgnorePatterns: base.modulePathIgnorePatterns,
  testMatch: base.testMatch,
  roots: ['<rootDir>/test/unit/domain'],
  testTimeout: base.testTimeout,
  maxWorkers: 1,
};
