// Module boundaries of design.md §2, enforced on every CI run.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-imports-nothing',
      comment: 'core holds types, errors and pure helpers; it depends on no other module',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/(?!core/)' },
    },
    {
      name: 'store-only-core',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(?!core/|store/)' },
    },
    {
      name: 'api-never-touches-host',
      comment: 'api validates and writes desired state; it never imports host-facing modules',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: '^src/(?!core/|store/|api/)' },
    },
    {
      name: 'cli-is-an-api-client',
      comment: 'the CLI talks HTTP only, like the heroku CLI',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/(?!core/|cli/)' },
    },
    {
      name: 'exec-only-core',
      comment: 'the process runner knows nothing of what it runs',
      severity: 'error',
      from: { path: '^src/exec/' },
      to: { path: '^src/(?!core/|exec/)' },
    },
    {
      name: 'network-only-core-and-exec',
      comment: 'host networking knows nothing of the API, the store or the CLI',
      severity: 'error',
      from: { path: '^src/network/' },
      to: { path: '^src/(?!core/|exec/|network/)' },
    },
    {
      name: 'agent-drives-host-from-store',
      comment: 'the agent reads desired state and drives host modules; it never serves the API',
      severity: 'error',
      from: { path: '^src/agent/' },
      to: { path: '^src/(api|cli|daemon)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.test\\.ts$' },
  },
}
