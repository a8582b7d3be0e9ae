// Lint gate for CI: typescript-eslint's type-checked recommended rules on top of ESLint's, and
// the layering of the code (README "Architecture") as import rules, so a break is a lint error.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Every top-level folder of src/ but the one named: what a self-contained part may not import. */
const serverFolders = [
  'admin', 'app', 'audit', 'bootstrap', 'catalog', 'cluster', 'config', 'credentials', 'gateway', 'http', 'interactions', 'keys',
  'log', 'main', 'metrics', 'mfa', 'migrate', 'oidc', 'rate-limited', 'revocation', 'server', 'startup-error', 'stores',
  'throttle', 'tokens', 'types',
];
const outOfFolder = (...folders) => ({
  regex: `^(\\.\\./)+(${folders.join('|')})([/.]|$)`,
  message: 'this part of src/ stands alone (README "Architecture")',
});
const deepLibraryImport = {
  group: ['oidc-provider/lib/*'],
  message: 'only src/oidc/internals.ts reaches into oidc-provider internals (the seam: pinned and checked at start)',
};
const databaseDrivers = {
  paths: [
    { name: 'pg', message: 'SQL and database drivers live in src/stores' },
    { name: '@electric-sql/pglite', message: 'SQL and database drivers live in src/stores' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/', 'packages/*/dist/', 'node_modules/', 'data/', 'keys/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } } },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Many functions are async to implement an async interface (a store, a hook) without awaiting.
      '@typescript-eslint/require-await': 'off',
      // We pass on what a driver or library threw as it was (stores/availability.ts classifies
      // it by its code and cause), so wrapping it in a new Error would lose what matters.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/oidc/internals.ts', 'src/stores/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { ...databaseDrivers, patterns: [deepLibraryImport] }] },
  },
  {
    files: ['src/stores/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [deepLibraryImport] }] },
  },
  {
    // SQL only in src/stores: outside it nothing calls a database's query() or exec().
    files: ['src/**/*.ts'],
    ignores: ['src/stores/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='query']", message: 'SQL lives in src/stores: call a function there' },
        // exec() of a database (RegExp.prototype.exec is fine).
        { selector: "CallExpression[callee.property.name='exec'][callee.object.name=/^(db|tx|database|client)$/]", message: 'SQL lives in src/stores: call a function there' },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { ...databaseDrivers, patterns: [deepLibraryImport, outOfFolder(...serverFolders)] }] },
  },
  {
    files: ['src/verify/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { ...databaseDrivers, patterns: [deepLibraryImport, outOfFolder(...serverFolders)] }] },
  },
  {
    // src/http is plumbing (bodies, headers, errors, health): it knows no protocol.
    files: ['src/http/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { ...databaseDrivers, patterns: [deepLibraryImport, outOfFolder('oidc', 'tokens', 'revocation', 'admin', 'interactions')] },
      ],
    },
  },
  {
    // The token core stands below revocation (which asks it to check tokens), never above it.
    files: ['src/tokens/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { ...databaseDrivers, patterns: [deepLibraryImport, outOfFolder('revocation', 'admin', 'interactions')] }] },
  },
  {
    // Revocation is read by the protocol, never the other way round.
    files: ['src/revocation/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { ...databaseDrivers, patterns: [deepLibraryImport, outOfFolder('oidc')] }] },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // Tests hand a store's or server's methods around as plain functions (none uses `this`).
      '@typescript-eslint/unbound-method': 'off',
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
    },
  },
);
