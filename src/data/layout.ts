/**
 * Where one server's files live, under its `dataDir` (root-owned, 0711):
 *
 *   process.json, status/exit, stdout.log, stderr.log   the detached process (src/exec/detached)
 *   secrets/      root 0700: the administrative password and the libpq password file the
 *                 platform's own clients (readiness, backups, replication) use
 *   server/       the server user's, 0700: TLS key and certificate, the Redis config
 *   pgdata/       Postgres's data directory (the server user's, 0700)
 *   redis/        Redis's working directory: the AOF (the server user's, 0700)
 */
import { join } from 'node:path'

export interface DataLayout {
  root: string
  record: string
  statusDir: string
  status: string
  stdout: string
  stderr: string
  secrets: string
  adminPassword: string
  passfile: string
  server: string
  certificate: string
  key: string
  pgdata: string
  redisDir: string
  redisConf: string
}

export function dataLayout(root: string): DataLayout {
  const server = join(root, 'server')
  const secrets = join(root, 'secrets')
  return {
    root,
    record: join(root, 'process.json'),
    // A directory for the status file alone: waitForExit watches it with inotify.
    statusDir: join(root, 'status'),
    status: join(root, 'status', 'exit'),
    stdout: join(root, 'stdout.log'),
    stderr: join(root, 'stderr.log'),
    secrets,
    adminPassword: join(secrets, 'admin-password'),
    passfile: join(secrets, 'pgpass'),
    server,
    certificate: join(server, 'server.crt'),
    key: join(server, 'server.key'),
    pgdata: join(root, 'pgdata'),
    redisDir: join(root, 'redis'),
    redisConf: join(server, 'redis.conf'),
  }
}
