/**
 * Builds of an app in a space run in the space's network, like its dynos: against a real
 * daemon process with an egress pool, a build step that downloads from a server on the
 * "internet" (a namespace behind the host) is seen there with one of the space's outbound
 * addresses, runs as the app's uid, and leaves no namespace behind when it ends — nor when
 * the daemon is killed during it.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { randomInt } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { slugDir } from '../../src/core/builds.js'
import { run } from '../../src/exec/run.js'
import { DEFAULT_CGROUP_ROOT } from '../../src/runtime/index.js'
import {
  apiRequest as api,
  createSpaceApp,
  freePort,
  REPO,
  startDaemonProcess,
  tempDataDir,
  type DaemonProcess,
  uploadSource,
} from '../helpers/daemon.js'
import { killDynosUnder } from '../helpers/dynos.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

/** The "internet": a namespace behind the host's egress interface (documentation ranges). */
const INTERNET_NS = 'inet-build'
const EGRESS_IF = 'inet0'
const HOST_PUBLIC = '198.51.100.1'
const INTERNET_ADDRESS = '198.51.100.2'
const EGRESS_POOL = '203.0.113.0/28'
const SERVER_PORT = 9000

/** An HTTP server that answers every request with the address it came from (after NAT). */
const SERVER = `
require('node:http').createServer((req, res) => res.end(req.socket.remoteAddress))
  .listen(${SERVER_PORT}, '${INTERNET_ADDRESS}', () => console.log('ready'))`

const ip = (args: string[]) => run('ip', args)

async function makeInternet(): Promise<ChildProcess> {
  await ip(['netns', 'add', INTERNET_NS])
  await ip(['link', 'add', EGRESS_IF, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', INTERNET_NS])
  await ip(['addr', 'add', `${HOST_PUBLIC}/24`, 'dev', EGRESS_IF])
  await ip(['link', 'set', EGRESS_IF, 'up'])
  const inside = (args: string[]) => ip(['-n', INTERNET_NS, ...args])
  await inside(['link', 'set', 'lo', 'up'])
  await inside(['addr', 'add', `${INTERNET_ADDRESS}/24`, 'dev', 'eth0'])
  await inside(['link', 'set', 'eth0', 'up'])
  // Replies to the outbound addresses go back through the host.
  await inside(['route', 'add', '203.0.113.0/24', 'via', HOST_PUBLIC])
  const server = spawn('ip', ['netns', 'exec', INTERNET_NS, process.execPath, '-e', SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    server.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve())
    server.on('exit', (code) => reject(new Error(`the internet server exited ${code}`)))
  })
  return server
}

if (sandboxed(import.meta.url)) {
  describe('builds run sandboxed in their space network', () => {
    const data = tempDataDir()
    const scratch = mkdtempSync(join(tmpdir(), 'localspace-build-net-'))
    const daemonArgs = ['--egress-pool', EGRESS_POOL, '--egress-interface', EGRESS_IF]
    let port = 0
    let d: DaemonProcess
    let server: ChildProcess
    let spaceId = ''
    before(async () => {
      server = await makeInternet()
      port = await freePort()
      d = await startDaemonProcess(data.dir, port, daemonArgs)
      spaceId = await createSpaceApp(d, { team: 'bn-team', space: 'bn-space', app: 'bn-app' })
    })
    after(async () => {
      await api(d.url, d.key, 'PATCH', '/apps/bn-app/formation/web', { quantity: 0 }).catch(
        () => undefined,
      )
      await d?.stop('SIGTERM')
      await killDynosUnder(data.dir)
      server?.kill()
      data.remove()
      rmSync(scratch, { recursive: true, force: true })
    })

    /** Uploads examples/node-web with `build` as its build script and starts a build of it. */
    const startBuild = async (build: string) => {
      const src = join(scratch, `app-${Date.now()}`)
      cpSync(join(REPO, 'examples', 'node-web'), src, { recursive: true })
      const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'))
      pkg.scripts.build = build
      writeFileSync(join(src, 'package.json'), JSON.stringify(pkg))
      const tarball = execFileSync('tar', ['-czf', '-', '-C', src, '.'])
      const url = await uploadSource(d, 'bn-app', tarball)
      const res = await api(d.url, d.key, 'POST', '/apps/bn-app/builds', { source_blob: { url } })
      assert.equal(res.status, 201)
      return res.body as { id: string; output_stream_url: string }
    }
    interface BuildJson {
      status: string
      slug: { id: string }
      output_stream_url: string
    }
    const buildOf = async (id: string) =>
      (await api(d.url, d.key, 'GET', `/apps/bn-app/builds/${id}`)).body as BuildJson
    /** The owners of the space's attachments (dynos and builds hold them by their ids). */
    const owners = async () =>
      (
        (await api(d.url, d.key, 'GET', `/localspace/spaces/${spaceId}/attachments`))
          .body as Array<{ owner: string }>
      ).map((a) => a.owner)

    test("a build downloads through the space's outbound addresses, as the app's uid", async () => {
      const build = await startBuild(
        [
          `curl -sS --max-time 5 http://${INTERNET_ADDRESS}:${SERVER_PORT}/ > seen-from.txt`,
          'id -u > built-by.txt',
        ].join(' && '),
      )
      const output = await (await fetch(build.output_stream_url)).text()
      const done = await buildOf(build.id)
      assert.equal(done.status, 'succeeded', output)

      const slug = slugDir(data.dir, done.slug.id)
      const nat = await api(d.url, d.key, 'GET', '/spaces/bn-space/nat')
      const sources = nat.body.sources as string[]
      assert.equal(sources.length, 4)
      const seenFrom = readFileSync(join(slug, 'seen-from.txt'), 'utf8')
      assert.ok(
        sources.includes(seenFrom),
        `seen from ${seenFrom}, not one of ${sources.join(', ')}`,
      )
      const uid = Number(readFileSync(join(slug, 'built-by.txt'), 'utf8'))
      assert.ok(uid >= 2_000_000, `built by uid ${uid}, not an app uid`)
      // The release started web.1, whose attachment stays; the build's went with it.
      await waitUntil(
        'the build to own no attachment',
        async () => !(await owners()).includes(build.id),
      )
    })

    test('a daemon killed during a build: the next one fails it and frees its network', async () => {
      // A duration of its own: other test files, running alongside, sleep 600 too.
      const sleep = `sleep 600.${randomInt(1000, 10000)}`
      const build = await startBuild(`echo started > /tmp/started && ${sleep}`)
      await waitUntil('the build to hold its network', async () =>
        (await owners()).includes(build.id),
      )
      // The parent goes with the last child (cgroup.ts): none at all is none of the build's.
      const cgroups = () =>
        existsSync(DEFAULT_CGROUP_ROOT)
          ? readdirSync(DEFAULT_CGROUP_ROOT).filter((n) => n.startsWith('build-'))
          : []
      await waitUntil('the build step to run', () => cgroups().length === 1)
      await d.stop('SIGKILL')
      // A start that first cleans up after the dead build: slower on a loaded machine.
      d = await startDaemonProcess(data.dir, port, daemonArgs, 30_000)
      const done = await buildOf(build.id)
      assert.equal(done.status, 'failed')
      assert.ok(!(await owners()).includes(build.id), 'its attachment is gone')
      assert.deepEqual(cgroups(), [], 'its cgroup is gone')
      assert.deepEqual(readdirSync(join(data.dir, 'build-work')), [], 'its work directory is gone')
      const sleeping = (await run('pgrep', ['-f', `^${sleep}$`]).catch(() => ({ stdout: '' })))
        .stdout
      assert.equal(sleeping.trim(), '', 'its processes died with the daemon')
      const output = await (await fetch(done.output_stream_url)).text()
      assert.match(output, /Build interrupted: the daemon restarted/)
    })
  })
}
