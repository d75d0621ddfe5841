// Type-checked rules stay on: no-floating-promises and no-misused-promises catch the
// un-awaited write or apply that silently corrupts state.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    // examples/ are apps to deploy, not part of localspace (no tsconfig covers them).
    ignores: [
      'dist/**',
      'node_modules/**',
      'eslint.config.js',
      '.dependency-cruiser.cjs',
      'examples/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/test return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', name: ['describe', 'test', 'it', 'suite'], package: 'node:test' },
          ],
        },
      ],
      // Fastify handlers are async by contract even when they do not await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Only src/exec may start processes (docs/design.md §2); it disables this rule locally.
      // dependency-cruiser checks the same (only-exec-starts-processes), dynamic imports too.
      'no-restricted-imports': [
        'error',
        {
          paths: ['child_process', 'cluster', 'worker_threads'].flatMap((name) =>
            [name, `node:${name}`].map((spelling) => ({
              name: spelling,
              message: 'Start processes through src/exec.',
            })),
          ),
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-imports': 'off',
      // Response bodies are JSON of any shape; the assertions are the type check.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
)
