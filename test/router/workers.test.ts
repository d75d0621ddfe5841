/**
 * Router workers (RouterWorkers): two worker processes on shared loopback listeners, a "dyno"
 * in this process. Every worker routes with the state the primary gave it, rule changes are
 * in force in all of them once `afterApplied` calls back, log lines come back, a worker that
 * dies is replaced with the current state, and nothing is left running after close.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import cluster from 'node:cluster'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import tls from 'node:tls'
import { RouterWorkers, type InboundRule } from '../../src/router/index.js'
import { selfSigned } from '../helpers/certs.js'
import { waitUntil } from '../helpers/wait.js'

const get = (port: number, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode!))
      })
      .on('error', reject)
  })

/** Statuses of `n` requests, each on a connection of its own (so they spread over workers). */
const many = (n: number, port: number, host = 'myapp.localhost') =>
  Promise.all(Array.from({ length: n }, () => get(port, host)))

/** Every worker process there is, routing or still starting. */
const allWorkers = () =>
  Object.values(cluster.workers ?? {})
    .filter((w) => w && !w.isDead())
    .map((w) => w!.process.pid!)

describe('router workers', () => {
  const lines: string[] = []
  let router: RouterWorkers
  let dyno: http.Server
  let port = 0
  let tlsPort = 0
  const defaultCert = selfSigned(['*.localhost'])
  const appCert = selfSigned(['www.example.test'])
  const rules = (list: InboundRule[]) =>
    router.routes.setSpace({
      id: 'space-1',
      cidr: '10.90.0.0/16',
      internalAddress: '10.90.0.3',
      rules: list,
    })

  before(async () => {
    dyno = http.createServer((_req, res) => res.end(`ok`))
    await new Promise<void>((r) => dyno.listen(0, '127.0.0.1', r))
    router = new RouterWorkers({
      workers: 2,
      domain: 'localhost',
      listen: [
        { host: '127.0.0.1', port: 0 },
        { host: '127.0.0.1', port: 0, tls: true },
      ],
      tls: defaultCert,
      log: (_app, text) => lines.push(text),
    })
    // Given before the workers start: they get it when they are ready.
    rules([{ action: 'allow', source: '127.0.0.0/8' }])
    router.routes.setApp({
      id: 'app-1',
      name: 'myapp',
      spaceId: 'space-1',
      internalRouting: false,
      domains: ['www.example.test'],
      certificates: [{ id: 'c1', ...appCert, hostnames: ['www.example.test'] }],
    })
    const dynoPort = (dyno.address() as AddressInfo).port
    router.routes.setDynos('app-1', [{ name: 'web.1', address: '127.0.0.1', port: dynoPort }])
    await router.start()
    ;[port, tlsPort] = router.addresses().map((a) => a.port) as [number, number]
  })

  after(async () => {
    await router?.close()
    await new Promise((r) => dyno.close(r))
  })

  test('both workers route, and their log lines come back', async () => {
    assert.equal(router.workerPids().length, 2)
    lines.length = 0
    assert.deepEqual(await many(20, port), Array(20).fill(200))
    assert.deepEqual(await many(4, port, 'www.example.test'), Array(4).fill(200))
    assert.equal(await get(port, 'nope.localhost'), 404)
    // Each worker keeps connections of its own to the dyno.
    const dynoPort = (dyno.address() as AddressInfo).port
    const owners = execFileSync('ss', ['-tnpH', 'state', 'established', `dport = :${dynoPort}`], {
      encoding: 'utf8',
    })
    for (const pid of router.workerPids())
      assert.match(owners, new RegExp(`pid=${pid},`), `worker ${pid}`)
    await waitUntil('the log lines', () => lines.length === 24)
    assert.equal(lines.filter((l) => /status=200 /.test(l)).length, 24)
  })

  test('a ruleset is in force in every worker once afterApplied calls back', async () => {
    rules([{ action: 'deny', source: '127.0.0.0/8' }])
    await new Promise<void>((resolve) => router.afterApplied(resolve))
    assert.deepEqual(await many(10, port), Array(10).fill(403))
    rules([{ action: 'allow', source: '127.0.0.0/8' }])
    await new Promise<void>((resolve) => router.afterApplied(resolve))
    assert.deepEqual(await many(10, port), Array(10).fill(200))
  })

  test('certificates by SNI, and HTTP/2, in the workers', async () => {
    const handshake = (servername: string) =>
      new Promise<[string, string]>((resolve, reject) => {
        const s = tls.connect(
          {
            host: '127.0.0.1',
            port: tlsPort,
            servername,
            rejectUnauthorized: false,
            ALPNProtocols: ['h2', 'http/1.1'],
          },
          () => {
            resolve([s.getPeerCertificate().subject.CN as string, s.alpnProtocol || ''])
            s.end()
          },
        )
        s.on('error', reject)
      })
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(await handshake('www.example.test'), ['www.example.test', 'h2'])
      assert.deepEqual(await handshake('myapp.localhost'), ['*.localhost', 'h2'])
    }
  })

  test('a worker that dies is replaced, with the current state', async () => {
    router.routes.setApp({ id: 'app-2', name: 'later', spaceId: 'space-1', internalRouting: false })
    const [victim] = router.workerPids()
    process.kill(victim!, 'SIGKILL')
    await waitUntil(
      'a replacement worker',
      () => router.workerPids().length === 2 && !router.workerPids().includes(victim!),
    )
    await new Promise<void>((resolve) => router.afterApplied(resolve))
    assert.deepEqual(await many(10, port), Array(10).fill(200))
    // No dynos: H14 from whichever worker, so both know the app added before the crash.
    assert.deepEqual(await many(6, port, 'later.localhost'), Array(6).fill(503))
  })

  test('with every worker down nothing is applied: afterApplied waits for a worker that holds it', async () => {
    for (const pid of router.workerPids()) process.kill(pid, 'SIGKILL')
    await waitUntil('no worker routing', () => router.workerPids().length === 0)
    rules([{ action: 'deny', source: '127.0.0.0/8' }])
    let applied = false
    const done = new Promise<void>((resolve) =>
      router.afterApplied(() => {
        applied = true
        resolve()
      }),
    )
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(applied, false, 'no worker holds the ruleset')
    await done // the replacements start, are given the state, and answer
    assert.ok(router.workerPids().length >= 1)
    await waitUntil('both replacements', () => router.workerPids().length === 2)
    // With no worker left the listeners were closed; port 0 was bound anew.
    ;[port, tlsPort] = router.addresses().map((a) => a.port) as [number, number]
    assert.deepEqual(await many(10, port), Array(10).fill(403))
    rules([{ action: 'allow', source: '127.0.0.0/8' }])
    await new Promise<void>((resolve) => router.afterApplied(resolve))
    assert.deepEqual(await many(10, port), Array(10).fill(200))
  })

  test('close stops every worker, and a closed router applies nothing', async () => {
    const pids = allWorkers()
    assert.ok(pids.length >= 2)
    await router.close()
    assert.deepEqual(allWorkers(), [])
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, String(pid))
    let applied = false
    router.afterApplied(() => (applied = true))
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(applied, false)
  })
})
