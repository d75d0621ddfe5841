import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { ExecError } from '../exec/run.js'
import { attach, detach } from './attach.js'
import { AttachError, InvalidNetworkStateError } from './errors.js'
import { testDyno } from './testing/fixtures.js'
import { batchError, recordingExec } from './testing/recording-exec.js'
import type { HostPaths } from './types.js'

const dyno = testDyno

const HOST_BATCH =
  'ip -batch - | netns add ls-00000001' +
  ' | link add lsv-00000001 type veth peer name eth0 netns ls-00000001' +
  ' | link set lsv-00000001 master lsb-0000000a up'
const NS_BATCH =
  'ip -n ls-00000001 -batch - | addr add 10.40.128.1/16 dev eth0 | link set eth0 address 02:6c:0a:28:80:01 up' +
  ' | link set lo up | route add default via 10.40.0.1'
const TEARDOWN = 'ip -force -batch - | link del lsv-00000001 | netns del ls-00000001'

describe('attach and detach', () => {
  let dir: string
  let paths: HostPaths
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'localspace-attach-'))
    paths = { etcNetns: join(dir, 'netns') }
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  test('attach is one host batch, one namespace batch and a resolv.conf', async () => {
    const exec = recordingExec()
    await attach(exec, dyno, paths)
    assert.deepEqual(exec.lines(), [HOST_BATCH, NS_BATCH])
    assert.match(
      readFileSync(join(dir, 'netns', 'ls-00000001', 'resolv.conf'), 'utf8'),
      /^nameserver 10\.40\.0\.1$/m,
    )
  })

  test('a failure inside the namespace rolls back the veth and the namespace', async () => {
    const exec = recordingExec(({ args }) =>
      args[0] === '-n' ? batchError(args, { 4: 'Error: Nexthop has invalid gateway.' }) : undefined,
    )
    const error = await attach(exec, dyno, paths).catch((e: unknown) => e)
    assert.ok(error instanceof AttachError)
    assert.match(error.message, /dyno-1.*route add default via 10\.40\.0\.1.*invalid gateway/)
    assert.equal(error.rollbackError, undefined)
    assert.deepEqual(exec.lines(), [HOST_BATCH, NS_BATCH, TEARDOWN])
    assert.equal(existsSync(join(dir, 'netns', 'ls-00000001')), false)
  })

  test('a failed veth create undoes only the namespace it made', async () => {
    const exec = recordingExec(({ args }) =>
      args[0] === '-batch' ? batchError(args, { 2: 'RTNETLINK answers: File exists' }) : undefined,
    )
    await assert.rejects(attach(exec, dyno, paths), AttachError)
    assert.deepEqual(exec.lines(), [HOST_BATCH, 'ip -force -batch - | netns del ls-00000001'])
  })

  test('a namespace that already exists is left alone', async () => {
    const exec = recordingExec(({ args }) =>
      args[0] === '-batch'
        ? batchError(args, {
            1: 'Cannot create namespace file "/run/netns/ls-00000001": File exists',
          })
        : undefined,
    )
    await assert.rejects(attach(exec, dyno, paths), /File exists/)
    assert.deepEqual(exec.lines(), [HOST_BATCH])
  })

  test('a resolv.conf that cannot be written rolls everything back', async () => {
    writeFileSync(join(dir, 'netns'), 'a file where a directory should be')
    const exec = recordingExec()
    await assert.rejects(attach(exec, dyno, paths), AttachError)
    assert.deepEqual(exec.lines().at(-1), TEARDOWN)
  })

  test('a failed rollback is reported alongside the first failure', async () => {
    const exec = recordingExec(({ args }) =>
      args[0] === '-n'
        ? batchError(args, { 1: 'Error: ipv4: Address already assigned.' })
        : args[0] === '-force'
          ? new ExecError('ip', args, null, 'killed')
          : undefined,
    )
    const error = await attach(exec, dyno, paths).catch((e: unknown) => e)
    assert.ok(error instanceof AttachError)
    assert.ok(error.rollbackError instanceof ExecError)
    assert.match(error.message, /rollback failed/)
  })

  test('attach refuses names it does not own before running anything', async () => {
    const exec = recordingExec()
    await assert.rejects(attach(exec, { ...dyno, netns: 'prod' }, paths), InvalidNetworkStateError)
    assert.deepEqual(exec.calls, [])
  })

  test('detach is one forced batch and removes the namespace files', async () => {
    const exec = recordingExec()
    await attach(exec, dyno, paths)
    await detach(exec, dyno, paths)
    assert.deepEqual(exec.lines().at(-1), TEARDOWN)
    assert.equal(existsSync(join(dir, 'netns', 'ls-00000001')), false)
  })

  test('detach succeeds when everything is already gone', async () => {
    const exec = recordingExec(({ args }) =>
      batchError(args, {
        1: 'Cannot find device "lsv-00000001"',
        2: 'Cannot remove namespace file "/run/netns/ls-00000001": No such file or directory',
      }),
    )
    await detach(exec, dyno, paths)
    assert.deepEqual(exec.lines(), [TEARDOWN])
  })

  test('detach reports a failure that is not absence', async () => {
    const exec = recordingExec(({ args }) =>
      batchError(args, { 1: 'RTNETLINK answers: Operation not permitted' }),
    )
    await assert.rejects(detach(exec, dyno, paths), /link del lsv-00000001: .*not permitted/)
  })
})
