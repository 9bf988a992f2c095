/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The chaos slice (test/chaos/chaos.test.ts) runs alone after the other suites (tools/run-tests.mjs, as `npm test`
  // and `npm run test:chaos` call it): under the full suite's load its time-skipping server wedged far more often
  // (temporalio/sdk-java#3088; see README, Chaos runs).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/chaos/'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
    // @fastify/cookie (under the console's session) loads the ESM-only `cookie` with import(), which jest's CommonJS
    // runtime refuses: both are compiled to CommonJS for the tests (Node itself loads them as they are).
    '/node_modules/(cookie|@fastify/cookie)/.+\\.js$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(cookie|@fastify/cookie)/)'],
  // The merchant library is a workspace package; tests load its source, as tsx and tsc do (tsconfig.json paths).
  moduleNameMapper: {
    '^@temporal-billing/client$': '<rootDir>/packages/client/src/index.ts',
    '^@temporal-billing/client/(.*)$': '<rootDir>/packages/client/src/$1',
  },
  modulePathIgnorePatterns: ['<rootDir>/lib', '<rootDir>/.tools', '<rootDir>/packages/client/dist'],
  // One headless Temporal dev server for the whole run (2 cores: not one per file).
  setupFiles: ['<rootDir>/test/support/quiet-runtime.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 120_000,
  maxWorkers: 2,
};
