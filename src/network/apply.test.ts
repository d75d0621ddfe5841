import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { applyHostActions } from './apply.js'
import { BatchError } from './batch.js'
import { AttachError, NetworkConflictError } from './errors.js'
import { testDyno } from './testing/fixtures.js'
import { batchError, recordingExec } from './testing/recording-exec.js'
import type { HostAction, HostPaths } from './types.js'

const dyno = testDyno

const plan: HostAction[] = [
  { kind: 'detach', netns: 'ls-00000001', veth: 'lsv-00000001', reason: 'host veth missing' },
  { kind: 'link.delete', name: 'lsv-000000ff' },
  { kind: 'netns.delete', name: 'ls-000000ff' },
  { kind: 'addr.remove', dev: 'eth0', address: '198.51.100.9', prefix: 32 },
  { kind: 'bridge.create', name: 'lsb-0000000a', mac: '02:6c:0a:28:00:01' },
  { kind: 'link.up', name: 'lsb-0000000a' },
  { kind: 'addr.add', dev: 'lsb-0000000a', address: '10.40.0.1', prefix: 16 },
  { kind: 'addr.add', dev: 'lsb-0000000a', address: '10.40.0.3', prefix: 16 },
  { kind: 'addr.add', dev: 'eth0', address: '198.51.100.8', prefix: 32 },
  { kind: 'attach', attachment: dyno },
]

const TEARDOWN =
  'ip -force -batch - | link del lsv-00000001 | netns del ls-00000001 | link del lsv-000000ff' +
  ' | netns del ls-000000ff | addr del 198.51.100.9/32 dev eth0'
const BRIDGES =
  'ip -force -batch - | link add name lsb-0000000a address 02:6c:0a:28:00:01 type bridge'
const BUILD =
  'ip -force -batch - | link set lsb-0000000a up | addr add 10.40.0.1/16 dev lsb-0000000a' +
  ' | addr add 10.40.0.3/16 dev lsb-0000000a | addr add 198.51.100.8/32 dev eth0'

describe('applyHostActions', () => {
  let dir: string
  let paths: HostPaths
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'localspace-apply-'))
    paths = { etcNetns: join(dir, 'netns'), ipv4Conf: join(dir, 'conf') }
    mkdirSync(join(dir, 'conf', 'lsb-0000000a'), { recursive: true })
    writeFileSync(join(dir, 'conf', 'lsb-0000000a', 'forwarding'), '0\n')
    mkdirSync(join(dir, 'netns', 'ls-000000ff'), { recursive: true })
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  test('one batch per stage, then forwarding on the new bridge, then the attach', async () => {
    const exec = recordingExec()
    await applyHostActions(exec, plan, paths)
    assert.deepEqual(exec.lines(), [
      TEARDOWN,
      BRIDGES,
      BUILD,
      'ip -batch - | netns add ls-00000001 | link add lsv-00000001 type veth peer name eth0 netns ls-00000001 | link set lsv-00000001 master lsb-0000000a up',
      'ip -n ls-00000001 -batch - | addr add 10.40.128.1/16 dev eth0 | link set eth0 address 02:6c:0a:28:80:01 up | link set lo up | route add default via 10.40.0.1',
    ])
    assert.equal(readFileSync(join(dir, 'conf', 'lsb-0000000a', 'forwarding'), 'utf8'), '1\n')
    assert.deepEqual(
      readFileSync(join(dir, 'netns', 'ls-00000001', 'resolv.conf'), 'utf8').split('\n')[1],
      'nameserver 10.40.0.1',
    )
  })

  test('an empty plan runs nothing', async () => {
    const exec = recordingExec()
    await applyHostActions(exec, [], paths)
    assert.deepEqual(exec.calls, [])
  })

  test('deletes of what is already gone and creates of what exists are fine', async () => {
    const exec = recordingExec(({ args, input }) => {
      if (input?.startsWith('link del lsv-00000001')) {
        return batchError(args, {
          1: 'Cannot find device "lsv-00000001"',
          4: 'Cannot remove namespace file "/run/netns/ls-000000ff": No such file or directory',
          5: 'Error: ipv4: Address not found.',
        })
      }
      if (input?.startsWith('link set')) {
        return batchError(args, { 2: 'Error: ipv4: Address already assigned.' })
      }
      if (input?.startsWith('link add name')) {
        return batchError(args, { 1: 'RTNETLINK answers: File exists' })
      }
      // The re-read of the name that existed: it is our bridge.
      if (args.includes('show'))
        return '[{"ifname":"lsb-0000000a","flags":["UP"],"linkinfo":{"info_kind":"bridge"}}]'
      return undefined
    })
    await applyHostActions(exec, plan, paths)
    assert.ok(exec.lines().includes('ip -j -d link show dev lsb-0000000a'))
  })

  test('a bridge name that turns out to hold something else stops the apply untouched', async () => {
    const exec = recordingExec(({ args, input }) => {
      if (input?.startsWith('link add name')) {
        return batchError(args, { 1: 'RTNETLINK answers: File exists' })
      }
      if (args.includes('show'))
        return '[{"ifname":"lsb-0000000a","flags":[],"linkinfo":{"info_kind":"veth"}}]'
      return undefined
    })
    await assert.rejects(applyHostActions(exec, plan, paths), NetworkConflictError)
    // Never brought up nor addressed, no attach.
    assert.deepEqual(exec.lines().slice(1), [BRIDGES, 'ip -j -d link show dev lsb-0000000a'])
  })

  test('a failure that is not absence fails the stage and names the line', async () => {
    const exec = recordingExec(({ args, input }) =>
      input?.startsWith('link del')
        ? batchError(args, { 3: 'RTNETLINK answers: Operation not permitted' })
        : undefined,
    )
    const error = await applyHostActions(exec, plan, paths).catch((e: unknown) => e)
    assert.ok(error instanceof BatchError)
    assert.match(
      error.message,
      /^ip link del lsv-000000ff: RTNETLINK answers: Operation not permitted$/,
    )
    assert.equal(exec.calls.length, 1)
  })

  test('every attachment is tried even when one fails', async () => {
    const second = { ...dyno, id: 'dyno-2', netns: 'ls-00000002', veth: 'lsv-00000002' }
    const exec = recordingExec(({ args, input }) =>
      input?.startsWith('netns add ls-00000001')
        ? batchError(args, { 1: 'Cannot create namespace file: File exists' })
        : undefined,
    )
    const actions: HostAction[] = [
      { kind: 'attach', attachment: dyno },
      { kind: 'attach', attachment: second },
    ]
    await assert.rejects(applyHostActions(exec, actions, paths), AttachError)
    assert.equal(exec.calls.filter((c) => c.args.includes('ls-00000002')).length, 1)
  })
})
