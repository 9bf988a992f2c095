/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The chaos slice (test/chaos/chaos.test.ts) passes alone in about 25 s but stalled past 5 minutes inside the full
  // suite on this 2-core machine (a time-skipping server that stops skipping under load): it runs with
  // `npm run chaos` and `npm run test:chaos` until that is understood.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/chaos/'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  modulePathIgnorePatterns: ['<rootDir>/lib', '<rootDir>/.tools'],
  // One headless Temporal dev server for the whole run (2 cores: not one per file).
  setupFiles: ['<rootDir>/test/support/quiet-runtime.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 120_000,
  maxWorkers: 2,
};
