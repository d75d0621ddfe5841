// Module boundaries of docs/design.md §2, enforced on every CI run.
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
      name: 'platform-only-core-and-store',
      comment:
        'platform is the one writer of desired state and of the events after a commit; it touches nothing on the host',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/(?!core/|store/|platform/)' },
    },
    {
      name: 'platform-serves-api-builds-daemon',
      comment:
        'the API, git push and the builder, and the daemon change desired state through platform',
      severity: 'error',
      from: { path: '^src/(?!api/|builds/|daemon/|platform/)' },
      to: { path: '^src/platform/' },
    },
    {
      name: 'api-never-touches-host',
      comment: 'api parses, authorises and serialises; it never imports host-facing modules',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: '^src/(?!core/|store/|platform/|api/)' },
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
      name: 'only-exec-starts-processes',
      comment:
        'every host process (commands, bwrap, git, the exec runner, router workers) starts in src/exec',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/exec/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(child_process|cluster|worker_threads)$' },
    },
    {
      name: 'logs-only-core',
      comment: 'logs is fed through core interfaces; it never reads the store or the API',
      severity: 'error',
      from: { path: '^src/logs/' },
      to: { path: '^src/(?!core/|logs/)' },
    },
    {
      name: 'network-only-core-and-exec',
      comment: 'host networking knows nothing of the API, the store or the CLI',
      severity: 'error',
      from: { path: '^src/network/' },
      to: { path: '^src/(?!core/|exec/|network/)' },
    },
    {
      name: 'builds-never-serve-the-api',
      comment:
        'the builder reads the store and runs build steps through exec; the API and it meet only in core interfaces',
      severity: 'error',
      from: { path: '^src/builds/' },
      to: { path: '^src/(?!core/|store/|platform/|exec/|builds/)' },
    },
    {
      name: 'dns-only-core',
      comment: 'the DNS data plane is fed by a record source; it never reads the store',
      severity: 'error',
      from: { path: '^src/dns/' },
      to: { path: '^src/(?!core/|dns/)' },
    },
    {
      name: 'runtime-only-core-exec-network',
      comment: 'dyno sandboxes know nothing of the store, the API or the CLI',
      severity: 'error',
      from: { path: '^src/runtime/' },
      to: { path: '^src/(?!core/|exec/|network/|runtime/)' },
    },
    {
      name: 'router-only-core-and-exec',
      comment:
        'the router data plane is fed a routing table; it never reads the store; its worker processes start through exec',
      severity: 'error',
      from: { path: '^src/router/' },
      to: { path: '^src/(?!core/|exec/|router/)' },
    },
    {
      name: 'vpn-only-core-exec',
      comment:
        'the VPN host (charon per space) is fed plain desired state; it never reads the store; it runs on the reconcile loop',
      severity: 'error',
      from: { path: '^src/vpn/' },
      to: { path: '^src/(?!core/|exec/|vpn/|agent/reconcile-loop)' },
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
