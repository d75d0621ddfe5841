/**
 * Measures start-to-listening of one dyno against the same command started bare (a plain
 * detached process in this network namespace, no sandbox, no cgroup), both detected the same
 * way (/proc/<pid>/net/tcp polled every 2 ms). Run as root:
 *
 *   scripts/sandbox node --import tsx test/runtime/start-latency.ts [samples]
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startDetached } from '../../src/exec/detached.js'
import { run } from '../../src/exec/run.js'
import { listensOn } from '../../src/runtime/listening.js'
import { defaultHost, DynoProcess } from '../../src/runtime/index.js'

const samples = Number(process.argv[2] ?? 5)
const COMMAND = `exec python3 -S -c 'import os, socket, time
s = socket.socket(); s.bind(("0.0.0.0", int(os.environ["PORT"]))); s.listen(); time.sleep(60)'`

const base = mkdtempSync('/tmp/lsrt-latency-')
chmodSync(base, 0o711)
mkdirSync(join(base, 'slug'))
const netns = `ls-${randomBytes(4).toString('hex')}`
await run('ip', ['netns', 'add', netns])
const host = await defaultHost()
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

const bare: number[] = []
const boxed: number[] = []
const startOnly: number[] = []
try {
  for (let i = 0; i < samples; i++) {
    const port = 6000 + i
    // Bare: the same command, detached, in this (sandbox) network namespace.
    const dir = join(base, `bare-${i}`)
    mkdirSync(join(dir, 'status'), { recursive: true })
    let t0 = performance.now()
    const rec = await startDetached('/bin/sh', ['-c', COMMAND], {
      env: { PATH: '/usr/bin:/bin', PORT: String(port) },
      stdoutFile: join(dir, 'out'),
      stderrFile: join(dir, 'err'),
      statusFile: join(dir, 'status', 'exit'),
      recordFile: join(dir, 'process.json'),
    })
    while ((await listensOn(rec.pid, port)) !== true) await sleep(2)
    bare.push(performance.now() - t0)
    process.kill(-rec.pid, 'SIGKILL')

    t0 = performance.now()
    const d = await DynoProcess.start(
      {
        id: `lsrt-lat-${i}-${randomBytes(2).toString('hex')}`,
        appId: 'a',
        appName: 'bench',
        processType: 'web',
        number: 1,
        releaseVersion: 1,
        command: COMMAND,
        configVars: {},
        port: port + 100,
        privateIp: '10.0.128.9',
        memoryMb: 256,
        uid: 61_234,
        gid: 61_234,
        netns,
        slugDir: join(base, 'slug'),
        dynoDir: join(base, 'dynos', `d${i}`),
      },
      host,
    )
    startOnly.push(performance.now() - t0)
    const r = await d.waitListening(undefined, { intervalMs: 2, timeoutMs: 10_000 })
    boxed.push(performance.now() - t0)
    if (r !== 'listening') throw new Error(`dyno ${i}: ${r}`)
    await d.stop({ graceMs: 2000 })
    await d.cleanup()
  }
  const fmt = (xs: number[]) =>
    `${xs.map((x) => x.toFixed(0)).join(', ')} ms (median ${median(xs).toFixed(0)})`
  console.log(`bare      start→listening: ${fmt(bare)}`)
  console.log(`sandboxed start→listening: ${fmt(boxed)}`)
  console.log(`sandboxed start() alone:   ${fmt(startOnly)}`)
} finally {
  await run('ip', ['netns', 'del', netns]).catch(() => undefined)
  rmSync(base, { recursive: true, force: true })
}
