/**
 * A space's two networks as the data servers see them, made for one test file inside its
 * sandbox: a dyno bridge (C, a /16) and a data bridge (D, a /16), routed to
 * each other by the host (forwarding on), a "dyno" namespace on the dyno bridge and an
 * "intruder" namespace on the data bridge (an address Postgres's hba does not admit). Clients
 * run there with PGPASSWORD/REDISCLI_AUTH in their environment (never on a command line).
 */
import { execFile } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before } from 'node:test'
import { promisify } from 'node:util'
import { newId } from '../../src/core/ids.js'
import { generatePassword } from '../../src/core/passwords.js'
import { run } from '../../src/exec/run.js'
import { attach, detach } from '../../src/network/attach.js'
import { dataBridgeName, dynoBridgeName, netnsName, vethName } from '../../src/network/names.js'
import type { DataServer } from '../../src/data/server.js'
import type { DataKind, DataServerSpec } from '../../src/data/types.js'

const execFileAsync = promisify(execFile)

export interface SpaceFixture {
  spaceId: string
  dynoBridge: string
  dataBridge: string
  /** A namespace on the dyno network (C.128.1): where the space's dynos are. */
  dynoNs: string
  /** A namespace on the data network (D.0.200): not a dyno. */
  intruderNs: string
  root: string
  spec(kind: DataKind, host: number, extra?: Partial<DataServerSpec>): DataServerSpec
  cleanup(): Promise<void>
}

/** Space `n` (0, 1, …): dyno network 10.(40+2n).0.0/16, data network 10.(41+2n).0.0/16. */
export async function makeSpace(n = 0): Promise<SpaceFixture> {
  const c = `10.${40 + 2 * n}`
  const d = `10.${41 + 2 * n}`
  const spaceId = newId()
  const dynoBridge = dynoBridgeName(spaceId)
  const dataBridge = dataBridgeName(spaceId)
  for (const [bridge, gw] of [
    [dynoBridge, `${c}.0.1/16`],
    [dataBridge, `${d}.0.1/16`],
  ] as const) {
    await run('ip', ['link', 'add', bridge, 'type', 'bridge'])
    await run('ip', ['addr', 'add', gw, 'dev', bridge])
    await run('ip', ['link', 'set', bridge, 'up'])
  }
  await run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1'])
  const client = (bridge: string, address: string, prefixGw: string) => {
    const id = newId()
    return {
      id,
      bridge,
      address,
      prefix: 16,
      gateway: prefixGw,
      dns: prefixGw,
      netns: netnsName(id),
      veth: vethName(id),
    }
  }
  const dyno = client(dynoBridge, `${c}.128.1`, `${c}.0.1`)
  const intruder = client(dataBridge, `${d}.0.200`, `${d}.0.1`)
  await attach(run, dyno)
  await attach(run, intruder)
  // The servers' user must reach their directories: the temp root is searchable, not listable.
  const root = mkdtempSync(join(tmpdir(), 'localspace-data-'))
  chmodSync(root, 0o711)
  return {
    spaceId,
    dynoBridge,
    dataBridge,
    dynoNs: dyno.netns,
    intruderNs: intruder.netns,
    root,
    spec: (kind, host, extra = {}) => {
      const addonId = newId()
      return {
        addonId,
        kind,
        spaceId,
        address: `${d}.0.${host}`,
        prefix: 16,
        gateway: `${d}.0.1`,
        dataBridge,
        dynoCidr: `${c}.0.0/16`,
        memoryMb: 256,
        maxConnections: 20,
        password: generatePassword(),
        dataDir: join(root, addonId),
        ...extra,
      }
    },
    cleanup: async () => {
      await detach(run, dyno)
      await detach(run, intruder)
      for (const b of [dynoBridge, dataBridge])
        await run('ip', ['link', 'del', b]).catch(() => undefined)
      rmSync(root, { recursive: true, force: true })
    },
  }
}

/** Runs a command in a namespace with extra environment; resolves with stdout, or rejects with stderr. */
export async function inNs(
  netns: string,
  cmd: string,
  args: readonly string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<string> {
  const p = execFileAsync('ip', ['netns', 'exec', netns, cmd, ...args], {
    env: { ...process.env, ...env },
    timeout: 20_000,
  })
  if (input !== undefined) {
    p.child.stdin?.end(input)
  } else p.child.stdin?.end()
  return (await p).stdout
}

/** psql as a client, over TLS unless `sslmode` says otherwise. */
export function psql(
  netns: string,
  facts: { host: string; user: string; database: string; password: string },
  sql: string,
  sslmode = 'require',
): Promise<string> {
  return inNs(
    netns,
    '/usr/lib/postgresql/15/bin/psql',
    [
      '-X',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      '-d',
      `host=${facts.host} user=${facts.user} dbname=${facts.database} sslmode=${sslmode} connect_timeout=5`,
      '-c',
      sql,
    ],
    { PGPASSWORD: facts.password },
  )
}

/** Processes whose command line mentions `text` (a leftover check). */
export async function processesMentioning(text: string): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'pid,args'])
  return stdout.split('\n').filter((l) => l.includes(text) && !l.includes('ps -eo'))
}

/**
 * A suite's space, made before its tests and cleaned up after them, and the servers its tests
 * start (`made`), destroyed after them even when a test failed: their watchers would keep the
 * test process alive.
 */
export function suiteSpace(): { space: SpaceFixture; made: DataServer[] } {
  const suite = { space: undefined as unknown as SpaceFixture, made: [] as DataServer[] }
  before(async () => {
    suite.space = await makeSpace()
  })
  after(async () => {
    for (const server of suite.made) await server.destroy().catch(() => undefined)
    await suite.space.cleanup()
  })
  return suite
}
