/**
 * Worker processes as exec starts them (node-workers.ts): real processes from a small entry
 * file, sharing one listener, talking in messages, reporting their exit.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { waitUntil } from '../../test/helpers/wait.js'
import { loaderFlags } from './node-entry.js'
import { forkNodeWorker, type NodeWorker } from './node-workers.js'

type Told = { t: 'listen' } | { t: 'echo'; text: string }
type Answer =
  | { t: 'hello'; name: string; execArgv: string[] }
  | { t: 'listening'; port: number }
  | { t: 'echo'; text: string }

const dir = mkdtempSync(join(tmpdir(), 'ls-node-workers-'))
/** An entry file that says who it is, echoes, and serves its pid on a shared port. */
function entry(name: string): string {
  const file = join(dir, `${name}.mjs`)
  writeFileSync(
    file,
    `import http from 'node:http'
const server = http.createServer((_req, res) => res.end(String(process.pid)))
process.on('message', (m) => {
  if (m.t === 'listen')
    server.listen(0, '127.0.0.1', () => process.send({ t: 'listening', port: server.address().port }))
  if (m.t === 'echo') process.send({ t: 'echo', text: m.text })
})
process.send({ t: 'hello', name: ${JSON.stringify(name)}, execArgv: process.execArgv })
`,
  )
  return file
}

const started: Array<NodeWorker<Told, Answer>> = []
after(async () => {
  for (const w of started) if (!w.isDead()) w.kill('SIGKILL')
  await waitUntil('every worker gone', () => started.every((w) => w.isDead()))
  rmSync(dir, { recursive: true, force: true })
})

function fork(file: string, execArgv?: string[]) {
  const worker = forkNodeWorker<Told, Answer>(file, { execArgv })
  started.push(worker)
  const answers: Answer[] = []
  worker.onMessage((m) => answers.push(m))
  const next = async <T extends Answer['t']>(t: T) => {
    await waitUntil(`a ${t} message`, () => answers.some((a) => a.t === t))
    const i = answers.findIndex((a) => a.t === t)
    return answers.splice(i, 1)[0] as Extract<Answer, { t: T }>
  }
  return { worker, next }
}

const pidAt = (port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, agent: false }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => resolve(Number(body)))
      })
      .on('error', reject)
  })

describe('node worker processes', () => {
  test('each runs its own entry, with the flags it is given', async () => {
    const a = fork(entry('a'))
    const b = fork(entry('b'))
    const a2 = fork(entry('a'), ['--no-warnings'])
    assert.equal((await a.next('hello')).name, 'a')
    assert.equal((await b.next('hello')).name, 'b')
    const hello = await a2.next('hello')
    assert.equal(hello.name, 'a')
    assert.deepEqual(hello.execArgv, ['--no-warnings'])
  })

  test('by default a worker gets the loader flags this process runs with', async () => {
    const w = fork(entry('defaults'))
    const { execArgv } = await w.next('hello')
    // This file is TypeScript run through a loader (`--import tsx`): there is one to pass on.
    assert.notDeepEqual(loaderFlags(process.execArgv), [])
    assert.deepEqual(execArgv, loaderFlags(process.execArgv))
  })

  test('workers share one listener; messages go both ways; an exit is reported once', async () => {
    const workers = [fork(entry('pair')), fork(entry('pair'))]
    const ports: number[] = []
    for (const w of workers) {
      await w.next('hello')
      w.worker.send({ t: 'listen' })
      ports.push((await w.next('listening')).port)
    }
    assert.equal(ports[0], ports[1], 'one shared port')
    const pids = new Set(workers.map((w) => w.worker.pid))
    const seen = new Set<number>()
    await waitUntil('both workers answering on the shared port', async () => {
      seen.add(await pidAt(ports[0]!))
      return seen.size === 2
    })
    assert.deepEqual(seen, pids)

    const [one, two] = workers as [(typeof workers)[0], (typeof workers)[0]]
    one.worker.send({ t: 'echo', text: 'ping' })
    assert.equal((await one.next('echo')).text, 'ping')

    const exits: Array<[number | null, string | null]> = []
    one.worker.onExit((code, signal) => exits.push([code, signal]))
    one.worker.kill('SIGTERM')
    await waitUntil('the exit reported', () => exits.length > 0)
    assert.deepEqual(exits, [[null, 'SIGTERM']])
    assert.equal(one.worker.isDead(), true)
    one.worker.send({ t: 'echo', text: 'to nobody' }) // a closed channel: dropped, no throw
    assert.equal(await pidAt(ports[0]!), two.worker.pid, 'the other worker still serves')
  })
})
