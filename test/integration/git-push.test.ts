/**
 * `git push` deploys over real HTTP: the API listens on 127.0.0.1:0 with the git backend of
 * src/builds/git-push.ts, the real builder builds, and a real `git` client pushes to the app's
 * git_url with the API key as password. The client has an empty HOME and no system config,
 * and never prompts: a credential problem fails at once.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { after, before, describe, test } from 'node:test'
import { Builder } from '../../src/builds/builder.js'
import { GitPushes } from '../../src/builds/git-push.js'
import { BuildOutputs } from '../../src/builds/output.js'
import { FileSourceStore } from '../../src/builds/sources.js'
import { removeLeftovers } from '../../src/builds/leftovers.js'
import { slugDir } from '../../src/core/builds.js'
import { repoDir } from '../../src/core/git.js'
import { defaultHost, SandboxBuildExecutor } from '../../src/runtime/index.js'
import { startTestApi, type TestApi } from '../helpers/api.js'
import { waitUntil } from '../helpers/wait.js'

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples')
const APP = 'git-app'

interface GitResult {
  code: number | null
  stdout: string
  stderr: string
}

describe('git push deploys', () => {
  let api: TestApi
  let builder: Builder
  let dir: string
  let apiUrl: string
  let home: string
  const scratch: string[] = []

  /** The client's whole environment: nothing of the developer's git setup. */
  const clientEnv = () => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    LANG: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Dev',
    GIT_AUTHOR_EMAIL: 'dev@example.com',
    GIT_COMMITTER_NAME: 'Dev',
    GIT_COMMITTER_EMAIL: 'dev@example.com',
  })

  /** Runs git without blocking the event loop (the API serving it runs in this process). */
  const git = (cwd: string, ...args: string[]): Promise<GitResult> =>
    new Promise((resolve, reject) => {
      const child = spawn('git', args, { cwd, env: clientEnv() })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      child.on('error', reject)
      child.on('close', (code) => resolve({ code, stdout, stderr }))
    })

  /** A git work tree holding a copy of an example, committed on main. */
  const workTree = async (example: string) => {
    const d = mkdtempSync(join(tmpdir(), 'localspace-git-'))
    scratch.push(d)
    cpSync(join(EXAMPLES, example), d, { recursive: true })
    assert.equal((await git(d, 'init', '--quiet', '--initial-branch=main')).code, 0)
    await commitAll(d, 'first')
    return d
  }

  const commitAll = async (d: string, message: string) => {
    assert.equal((await git(d, 'add', '--all')).code, 0)
    const r = await git(d, 'commit', '--quiet', '-m', message)
    assert.equal(r.code, 0, r.stderr)
    return (await git(d, 'rev-parse', 'HEAD')).stdout.trim()
  }

  /** `http://user:<key>@127.0.0.1:<port>/<app>.git` */
  const remote = (app: string, key: string | null = api.adminKey) => {
    const url = new URL(`${apiUrl}/${app}.git`)
    if (key !== null) {
      url.username = 'anyone'
      url.password = key
    }
    return url.toString()
  }

  const appId = (name = APP) => api.store.apps.find(name)!.id
  const builds = (name = APP) => api.store.builds.list(appId(name)).length
  const releases = (name = APP) => api.store.releases.list(appId(name)).length
  /** What the server's repository has for main (via ls-remote: upload-pack over HTTP). */
  const remoteMain = async (d: string) =>
    (await git(d, 'ls-remote', remote(APP), 'refs/heads/main')).stdout.split(/\s/)[0] ?? ''

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'localspace-gitpush-'))
    chmodSync(dir, 0o711) // as the daemon's data dir: the apps' uids pass through it to builds
    home = mkdtempSync(join(tmpdir(), 'localspace-git-home-'))
    const sources = new FileSourceStore(join(dir, 'blobs'))
    const output = new BuildOutputs(join(dir, 'build-output'))
    api = await startTestApi({ sources, buildOutput: output })
    // As the daemon wires it; set after the fact because the test API makes its own store.
    api.server.ctx.git = new GitPushes({
      store: api.store,
      events: api.events,
      dataDir: dir,
      sources,
      output,
    })
    builder = new Builder({
      store: api.store,
      events: api.events,
      // The daemon's sandbox; these apps are outside spaces, so builds use the host's network.
      executor: new SandboxBuildExecutor({
        host: await defaultHost({ hide: [dir] }),
        uidFor: (appId) => api.store.apps.uidOf(appId),
      }),
      output,
      sources,
      dataDir: dir,
    })
    await builder.start()
    await api.server.listen({ host: '127.0.0.1', port: 0 })
    apiUrl = `http://127.0.0.1:${(api.server.server.address() as AddressInfo).port}`
    api.server.ctx.apiUrl = apiUrl
    assert.equal((await api.call('POST', '/apps', { name: APP })).status, 201)
  })

  after(async () => {
    await builder.stop()
    await api.close()
    for (const d of [dir, home, ...scratch]) rmSync(d, { recursive: true, force: true })
  })

  test("the app's git_url is <apiUrl>/<app>.git", async () => {
    const res = await api.call('GET', `/apps/${APP}`)
    assert.equal(res.body.git_url, `${apiUrl}/${APP}.git`)
  })

  test('pushing main builds it, streams the build as remote: lines and releases it', async () => {
    const src = await workTree('node-web')
    // Over http.postBuffer (1 MiB): git sends the pack chunked, after a probe request.
    writeFileSync(join(src, 'blob.bin'), randomBytes(2 * 1024 * 1024))
    const sha = await commitAll(src, 'with a blob')
    const before = releases()

    const push = await git(src, 'push', remote(APP), 'main')
    assert.equal(push.code, 0, push.stderr)
    assert.match(push.stderr, /^remote: Building source:/m)
    assert.match(push.stderr, /^remote: -----> Node\.js app detected/m)
    assert.match(push.stderr, /^remote: -----> Installing dependencies \(npm ci\)/m)
    assert.match(push.stderr, /^remote: -----> Released v\d+/m)
    assert.match(
      push.stderr,
      new RegExp(`^remote: .*http://${APP}\\..* deployed to localspace`, 'm'),
    )
    assert.match(push.stderr, /^remote: Verifying deploy\.\.\. done\./m)
    assert.match(push.stderr, / \* \[new branch\] +main -> main/)

    // The build ended before git did: its release and slug are there now.
    assert.equal(releases(), before + 1)
    const release = api.store.releases.current(appId())!
    assert.equal(release.description, `Deploy ${sha.slice(0, 8)}`)
    const slug = api.store.builds.findSlug(appId(), release.slugId!)!
    assert.equal(slug.commit, sha)
    assert.deepEqual(slug.processTypes, { web: 'node server.js' })
    assert.ok(existsSync(join(slugDir(dir, slug.id), 'server.js')))
    assert.ok(existsSync(join(slugDir(dir, slug.id), 'blob.bin')))
    const list = await api.call('GET', `/apps/${APP}/builds`)
    const build = (list.body as any[]).find((b) => b.source_blob.version === sha)
    assert.equal(build.status, 'succeeded')
    assert.equal(build.user.email, 'admin@localspace.localhost')

    // The push recorded its build as `POST /apps/{app}/builds` records one (src/platform): the
    // same record but for the source URL, the outcome, the ids and the times. The posted build
    // fails at once (the builder fetches nothing from loopback).
    const posted = await api.call('POST', `/apps/${APP}/builds`, {
      source_blob: { url: 'http://127.0.0.1:9/none.tgz', version: sha },
    })
    assert.equal(posted.status, 201)
    await waitUntil('the posted build to fail', () => {
      return api.store.builds.find(posted.body.id)?.status === 'failed'
    })
    const record = (buildId: string) => {
      const {
        id,
        sourceUrl,
        status,
        slugId,
        releaseId,
        createdAt,
        updatedAt,
        outputToken,
        ...same
      } = api.store.builds.find(buildId)!
      return { ...same, outputTokenLength: outputToken.length }
    }
    assert.deepEqual(record(build.id), record(posted.body.id))

    // The repository has the commit, and git clone (upload-pack) gets it back.
    assert.equal(await remoteMain(src), sha)
    const clone = join(mkdtempSync(join(tmpdir(), 'localspace-clone-')), 'app')
    scratch.push(dirname(clone))
    const cloned = await git(tmpdir(), 'clone', '--quiet', remote(APP), clone)
    assert.equal(cloned.code, 0, cloned.stderr)
    assert.equal(readFileSync(join(clone, 'Procfile'), 'utf8'), 'web: node server.js\n')

    // git gzips larger fetch requests; http-backend inflates them itself.
    const pkt = (line: string) => `${(line.length + 4).toString(16).padStart(4, '0')}${line}`
    const fetched = await fetch(`${apiUrl}/${APP}.git/git-upload-pack`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`git:${api.adminKey}`).toString('base64')}`,
        'content-type': 'application/x-git-upload-pack-request',
        'content-encoding': 'gzip',
      },
      body: gzipSync(`${pkt(`want ${sha}\n`)}0000${pkt('done\n')}`),
    })
    assert.equal(fetched.status, 200)
    assert.equal(fetched.headers.get('content-type'), 'application/x-git-upload-pack-result')
    const pack = Buffer.from(await fetched.arrayBuffer())
    assert.equal(pack.subarray(0, 12).toString(), '0008NAK\nPACK')

    // A second push of the same commit changes nothing and builds nothing.
    const count = builds()
    const again = await git(src, 'push', remote(APP), 'main')
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stderr, /Everything up-to-date/)
    assert.equal(builds(), count)
  })

  test('pushing the Python example builds its virtualenv and releases it', async () => {
    const name = 'git-python'
    assert.equal((await api.call('POST', '/apps', { name })).status, 201)
    const src = await workTree('python-web')
    const push = await git(src, 'push', remote(name), 'main')
    assert.equal(push.code, 0, push.stderr)
    assert.match(push.stderr, /^remote: -----> Python app detected/m)
    assert.match(push.stderr, /^remote: -----> Released v\d+/m)
    const release = api.store.releases.current(appId(name))!
    const slug = api.store.builds.findSlug(appId(name), release.slugId!)!
    assert.deepEqual(slug.processTypes, { web: 'python3 app.py' })
    const files = slugDir(dir, slug.id)
    assert.ok(existsSync(join(files, '.heroku', 'python', 'pyvenv.cfg')))
    assert.ok(existsSync(join(files, 'bin', 'python3')))
  })

  test('a failing build fails the push, shows the failing line, and keeps main where it was', async () => {
    const src = await workTree('node-web')
    const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'))
    pkg.scripts.build = 'echo compiling the assets && exit 1'
    writeFileSync(join(src, 'package.json'), JSON.stringify(pkg))
    const sha = await commitAll(src, 'broken build')
    const main = await remoteMain(src)
    const before = releases()

    // --force: this work tree's history is not the one on the server.
    const push = await git(src, 'push', '--force', remote(APP), 'main')
    assert.notEqual(push.code, 0, push.stderr)
    assert.match(push.stderr, /^remote: -----> Running build \(npm run build\)/m)
    assert.match(push.stderr, /^remote: +compiling the assets/m)
    assert.match(push.stderr, /^remote: +! +npm run build failed \(exit code 1\)\./m)
    assert.match(push.stderr, /^remote: +! +Push rejected to git-app\./m)
    assert.match(push.stderr, /! \[remote rejected\] +main -> main \(pre-receive hook declined\)/)
    assert.equal(releases(), before)
    const list = await api.call('GET', `/apps/${APP}/builds`)
    assert.equal((list.body as any[]).find((b) => b.source_blob.version === sha).status, 'failed')
    assert.equal(await remoteMain(src), main)
  })

  test('a pusher who goes away stops git on the server, and the build goes on', async () => {
    const src = await workTree('node-web')
    writeFileSync(join(src, 'NOTES'), 'pushed and then the pusher went away\n')
    await commitAll(src, 'interrupted')
    const count = builds()
    const child = spawn('git', ['push', '--force', remote(APP), 'main'], {
      cwd: src,
      env: clientEnv(),
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const exited = new Promise((resolve) => child.on('close', resolve))
    await waitUntil('the build to start', () => stderr.includes('app detected'))
    child.kill('SIGKILL')
    await exited
    // receive-pack and its hook are killed with the request (their command lines name the repo).
    const repo = `${appId()}.git`
    const gitProcesses = () =>
      readdirSync('/proc')
        .filter((pid) => /^\d+$/.test(pid))
        .filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(repo)
          } catch {
            return false
          }
        })
    await waitUntil('no git process for the repository', () => gitProcesses().length === 0)
    await builder.idle()
    assert.equal(builds(), count + 1)
    const list = await api.call('GET', `/apps/${APP}/builds`)
    const statuses = (list.body as { status: string }[]).map((b) => b.status)
    assert.ok(!statuses.includes('pending'), statuses.join())
  })

  test('a branch other than main or master is refused with a message, and not built', async () => {
    const src = await workTree('node-web')
    const count = builds()
    const push = await git(src, 'push', remote(APP), 'main:feature')
    assert.notEqual(push.code, 0)
    assert.match(push.stderr, /remote: +! +Only the main or master branch is deployed/)
    assert.match(push.stderr, /git push <remote> feature:main/)
    assert.match(
      push.stderr,
      /! \[remote rejected\] +main -> feature \(pre-receive hook declined\)/,
    )
    assert.equal(builds(), count)
    const refs = await git(src, 'ls-remote', remote(APP))
    assert.doesNotMatch(refs.stdout, /feature/)
  })

  test('a wrong or missing API key is refused with 401 and nothing is stored', async () => {
    assert.equal((await api.call('POST', '/apps', { name: 'git-fresh' })).status, 201)
    const src = await workTree('node-web')
    for (const key of [randomBytes(16).toString('hex'), null]) {
      const push = await git(src, 'push', remote('git-fresh', key), 'main')
      assert.equal(push.code, 128, push.stderr)
      assert.match(push.stderr, /Authentication failed|could not read Username/)
    }
    assert.equal(builds('git-fresh'), 0)
    assert.equal(existsSync(repoDir(dir, appId('git-fresh'))), false)

    const probe = await fetch(`${apiUrl}/git-fresh.git/info/refs?service=git-receive-pack`)
    assert.equal(probe.status, 401)
    assert.match(probe.headers.get('www-authenticate') ?? '', /^Basic /)
  })

  test('an unknown app, or one the pusher cannot see, is "not found"', async () => {
    const src = await workTree('node-web')
    const unknown = await git(src, 'push', remote('no-such-app'), 'main')
    assert.equal(unknown.code, 128)
    assert.match(unknown.stderr, /repository '.*no-such-app\.git\/' not found/)

    const stranger = api.user('stranger@example.com')
    const count = builds()
    const hidden = await git(src, 'push', remote(APP, stranger), 'main')
    assert.equal(hidden.code, 128)
    assert.match(hidden.stderr, /remote: +! +Couldn't find that app\./)
    assert.match(hidden.stderr, /not found/)
    assert.equal(builds(), count)

    const res = await fetch(`${apiUrl}/no-such-app.git/info/refs?service=git-receive-pack`, {
      headers: { authorization: `Basic ${Buffer.from(`x:${api.adminKey}`).toString('base64')}` },
    })
    assert.equal(res.status, 404)
  })

  test("a deleted app's repository, slugs and build output are left-overs; others' are kept", async () => {
    const other = 'git-other'
    assert.equal((await api.call('POST', '/apps', { name: other })).status, 201)
    const src = await workTree('node-web')
    assert.equal((await git(src, 'push', remote(other), 'main')).code, 0)
    await builder.idle()
    const id = appId(other)
    const slugIds = api.store.builds.list(id).flatMap((b) => (b.slugId ? [b.slugId] : []))
    const buildIds = api.store.builds.list(id).map((b) => b.id)
    assert.ok(slugIds.length > 0 && existsSync(repoDir(dir, id)))
    const kept = api.store.builds.list(appId(APP)).flatMap((b) => (b.slugId ? [b.slugId] : []))

    assert.deepEqual(await removeLeftovers(api.store, dir, builder.creatingSlugs), [])
    assert.equal((await api.call('DELETE', `/apps/${other}`)).status, 200)
    const removed = await removeLeftovers(api.store, dir, builder.creatingSlugs)
    assert.deepEqual(
      removed.sort(),
      [
        ...buildIds.map((b) => join(dir, 'build-output', `${b}.log`)),
        repoDir(dir, id),
        ...slugIds.map((s) => slugDir(dir, s)),
      ].sort(),
    )
    for (const path of removed) assert.equal(existsSync(path), false, path)
    assert.ok(existsSync(repoDir(dir, appId(APP))), "the other app's repository stays")
    for (const s of kept) assert.ok(existsSync(slugDir(dir, s)), "the other app's slugs stay")
  })
})
