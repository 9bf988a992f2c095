// ESLint flat config: typescript-eslint with type-aware rules, Node built-ins banned in workflow code, and the
// layering of design.md enforced: no import cycles; api -> client -> shared/domain, never the other way; the API
// never loads workflows or activities; SDK internals (`@temporalio/*/lib/*`) only in the client's Temporal adapter.
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'lib/**',
      'packages/*/dist/**',
      '.tools/**',
      '.data/**',
      'coverage/**',
      'test/replay/histories/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: { allowDefaultProject: ['*.mjs', 'tools/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/require-await': 'off',
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts', 'packages/client/src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.d.ts', '.js', '.json'] })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './packages/client/src',
              from: './src/api',
              message: 'The merchant library is below the HTTP adapter: packages/client never imports src/api.',
            },
            {
              target: './packages/client/src',
              from: ['./src/activities', './src/workflows', './src/worker.ts', './src/integrations'],
              message: 'The merchant library talks to Temporal only; it never loads worker code.',
            },
            {
              target: './src/api',
              from: ['./src/activities', './src/workflows'],
              message: 'The API reaches workflows only through the BillingClient (packages/client).',
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportDeclaration[source.value=/^@temporalio\\/[^/]+\\/(lib|src)\\//]',
          message: 'SDK internals only in packages/client/src/temporal-adapter.ts (they carry no semver promise).',
        },
      ],
    },
  },
  {
    files: ['packages/client/src/temporal-adapter.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['src/workflows/**/*.ts', 'src/shared/**/*.ts', 'src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({
              name,
              message: 'Workflow code must be deterministic: no Node built-ins.',
            })),
            { name: 'axios', message: 'Workflow code must not do I/O.' },
          ],
          patterns: [
            {
              group: ['**/activities/*', '**/integrations/*', '**/activities', '**/integrations'],
              allowTypeImports: true,
              message: 'Workflows see activities and integrations only as types.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'No process.env in workflow code.' },
        { name: 'setTimeout', message: 'Use sleep/condition from @temporalio/workflow.' },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'tools/**', 'bench/**', 'src/cli.ts', '*.mjs'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
