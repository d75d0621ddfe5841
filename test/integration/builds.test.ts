/**
 * Deploy from source over real HTTP with real builds: the API listens on 127.0.0.1:0, sources
 * are uploaded to its put_url, builds run through the real builder (npm, python3 -m venv, as
 * the unprivileged build user when the tests run as root), and the outcome is read as a client
 * would: the build's status, its output stream, the release and the slug.
 *
 * Nothing here needs the network: the examples have no dependencies, so `npm ci` and
 * `pip install -r` (of an empty requirements.txt) never ask a registry.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { create as createTar } from 'tar'
import { Builder } from '../../src/builds/builder.js'
import { BuildOutputs } from '../../src/builds/output.js'
import { defaultDeps } from '../../src/cli/context.js'
import { buildProgram } from '../../src/cli/program.js'
import { FileSourceStore } from '../../src/builds/sources.js'
import { slugDir } from '../../src/core/builds.js'
import { AddressPolicy } from '../../src/core/address-policy.js'
import { defaultHost, SandboxBuildExecutor } from '../../src/runtime/index.js'
import { startTestApi, type TestApi } from '../helpers/api.js'

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples')
/** Small, so that the oversized upload test needs no big buffer. */
const MAX_SOURCE_BYTES = 200 * 1024
const APP = 'build-app'
/** A loopback address the builder's address policy lets through, as if it were public. */
const PUBLIC_STAND_IN = '127.0.0.2'

/** An HTTP server on `host`; `seen` holds the paths it was asked for. */
async function serve(
  host: string,
  handler: (path: string) => { status: number; location?: string; body?: Buffer },
) {
  const seen: string[] = []
  const server: Server = createServer((req, res) => {
    seen.push(req.url ?? '')
    const { status, location, body } = handler(req.url ?? '')
    res.writeHead(status, location ? { location } : {})
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const url = `http://${host}:${(server.address() as AddressInfo).port}`
  return { url, seen, close: () => new Promise((resolve) => server.close(resolve)) }
}

/** A gzipped tarball of a directory's contents, as `tar czf - -C dir .` makes it. */
async function pack(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of createTar({ gzip: true, cwd: dir, portable: true }, ['.'])) {
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

describe('deploying from source', () => {
  let api: TestApi
  let builder: Builder
  let dir: string
  let apiUrl: string
  let sources: FileSourceStore
  const scratch: string[] = []

  /** A copy of an example (or an empty dir) to change for one test. */
  const appDir = (example?: string) => {
    const d = mkdtempSync(join(tmpdir(), 'localspace-app-'))
    scratch.push(d)
    if (example) cpSync(join(EXAMPLES, example), d, { recursive: true })
    return d
  }

  const upload = async (body: Buffer) => {
    const res = await api.call('POST', '/sources')
    assert.equal(res.status, 201, JSON.stringify(res.body))
    const blob = res.body.source_blob as { get_url: string; put_url: string }
    const put = await fetch(blob.put_url, { method: 'PUT', body })
    assert.equal(put.status, 200, await put.text())
    return blob.get_url
  }

  /** Starts a build and reads its whole output stream, which ends when the build does. */
  const build = async (url: string, app = APP) => {
    const res = await api.call('POST', `/apps/${app}/builds`, {
      source_blob: { url, version: 'v-test' },
    })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    assert.equal(res.body.status, 'pending')
    const output = await (await fetch(res.body.output_stream_url as string)).text()
    await builder.idle()
    const done = await api.call('GET', `/apps/${app}/builds/${res.body.id}`)
    return { build: done.body, output, streamUrl: res.body.output_stream_url as string }
  }

  const deploy = async (source: string) => build(await upload(await pack(source)))
  const releaseCount = () => api.store.releases.list(api.store.apps.find(APP)!.id).length

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'localspace-builds-'))
    chmodSync(dir, 0o711) // as the daemon's data dir: the apps' uids pass through it to builds
    sources = new FileSourceStore(join(dir, 'blobs'), { maxBytes: MAX_SOURCE_BYTES })
    const output = new BuildOutputs(join(dir, 'build-output'))
    api = await startTestApi({ sources, buildOutput: output })
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
      // 127.0.0.2 plays a public source server an operator allowed (`--allow-private`); the
      // rest of loopback is the host's own, as in production.
      addressPolicy: new AddressPolicy({ allowed: [`${PUBLIC_STAND_IN}/32`] }),
      dataDir: dir,
      maxSourceBytes: MAX_SOURCE_BYTES,
    })
    await builder.start()
    await api.server.listen({ host: '127.0.0.1', port: 0 })
    apiUrl = `http://127.0.0.1:${(api.server.server.address() as AddressInfo).port}`
    api.server.ctx.apiUrl = apiUrl // as the daemon does once it knows its port
    assert.equal((await api.call('POST', '/apps', { name: APP })).status, 201)
  })

  after(async () => {
    await builder.stop()
    await api.close()
    rmSync(dir, { recursive: true, force: true })
    for (const d of scratch) rmSync(d, { recursive: true, force: true })
  })

  test('POST /sources answers put and get URLs served by this API', async () => {
    const res = await api.call('POST', '/sources')
    assert.equal(res.status, 201)
    const { get_url: getUrl, put_url: putUrl } = res.body.source_blob
    assert.ok(String(putUrl).startsWith(`${apiUrl}/localspace/blobs/`), putUrl)
    assert.equal(getUrl, putUrl)
    assert.equal((await fetch(getUrl as string)).status, 404, 'nothing uploaded yet')
    const put = await fetch(putUrl as string, { method: 'PUT', body: 'hello' })
    assert.equal(put.status, 200)
    assert.equal(await (await fetch(getUrl as string)).text(), 'hello')
    // The app-scoped (deprecated) form works too, and checks the app.
    assert.equal((await api.call('POST', `/apps/${APP}/sources`)).status, 201)
    const missing = await api.call('POST', '/apps/no-such-app/sources')
    assert.equal(missing.status, 404)
    // A token that was never issued is refused for upload and download.
    const fake = `${apiUrl}/localspace/blobs/${randomBytes(32).toString('base64url')}`
    assert.equal((await fetch(fake, { method: 'PUT', body: 'x' })).status, 404)
    assert.equal((await fetch(fake)).status, 404)
  })

  test('the Node.js example builds into a slug and release v2', async () => {
    const { build: b, output } = await deploy(join(EXAMPLES, 'node-web'))
    assert.equal(b.status, 'succeeded', output)
    assert.match(output, /-----> Node\.js app detected/)
    assert.match(output, /-----> Installing dependencies \(npm ci\)/)
    assert.match(output, /Process types -> web/)
    assert.match(output, /-----> Released v2/)
    assert.ok(b.release?.id && b.slug?.id, JSON.stringify(b))

    const release = await api.call('GET', `/apps/${APP}/releases/${b.release.id}`)
    assert.equal(release.body.version, 2)
    assert.equal(release.body.current, true)
    assert.deepEqual(release.body.slug, { id: b.slug.id })
    assert.equal(release.body.description, 'Deploy v-test')

    const slug = await api.call('GET', `/apps/${APP}/slugs/${b.slug.id}`)
    assert.equal(slug.status, 200)
    assert.deepEqual(slug.body.process_types, { web: 'node server.js' })
    assert.equal(slug.body.buildpack_provided_description, 'Node.js')
    assert.ok(slug.body.size > 0)
    const files = slugDir(dir, b.slug.id as string)
    assert.ok(existsSync(join(files, 'server.js')))
    assert.ok(existsSync(join(files, 'package.json')))

    // Formation follows the process types: web gets one dyno and the Procfile command.
    const web = await api.call('GET', `/apps/${APP}/formation/web`)
    assert.equal(web.body.quantity, 1)
    assert.equal(web.body.command, 'node server.js')

    const list = await api.call('GET', `/apps/${APP}/builds`)
    assert.equal(list.status, 200)
    assert.ok((list.body as any[]).some((x) => x.id === b.id))
  })

  test('scaling a process type the release does not declare is refused and changes nothing', async () => {
    const before = await api.call('GET', `/apps/${APP}/formation`)
    const batch = await api.call('PATCH', `/apps/${APP}/formation`, {
      updates: [
        { type: 'web', quantity: 3 },
        { type: 'nosuch', quantity: 1 },
      ],
    })
    assert.equal(batch.status, 404)
    assert.equal(batch.body.id, 'not_found')
    assert.equal(batch.body.message, "Couldn't find that process type (nosuch).")
    const one = await api.call('PATCH', `/apps/${APP}/formation/worker`, { quantity: 1 })
    assert.equal(one.status, 404)
    assert.equal(one.body.message, "Couldn't find that process type (worker).")
    assert.deepEqual((await api.call('GET', `/apps/${APP}/formation`)).body, before.body)
  })

  test('the output stream, read after the build, still has everything from the start', async () => {
    const first = await deploy(join(EXAMPLES, 'node-web'))
    assert.equal(first.build.status, 'succeeded', first.output)
    const again = await (await fetch(first.streamUrl)).text()
    assert.equal(again, first.output)
    assert.match(again, /^-----> Fetching source\n/)
  })

  test('the Python example builds a virtualenv into the slug', async () => {
    const { build: b, output } = await deploy(join(EXAMPLES, 'python-web'))
    assert.equal(b.status, 'succeeded', output)
    assert.match(output, /-----> Python app detected/)
    const slug = await api.call('GET', `/apps/${APP}/slugs/${b.slug.id}`)
    assert.deepEqual(slug.body.process_types, { web: 'python3 app.py' })
    const files = slugDir(dir, b.slug.id as string)
    // bin/python3 (first on a dyno's PATH) runs the slug's virtualenv, wherever the slug is.
    const inVenv = execFileSync(join(files, 'bin', 'python3'), [
      '-c',
      'import sys; print(sys.prefix != sys.base_prefix)',
    ])
    assert.equal(inVenv.toString().trim(), 'True')
    assert.ok(existsSync(join(files, 'app.py')))
  })

  test('a failing build command fails the build, says where, and makes no release', async () => {
    const src = appDir('node-web')
    const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'))
    pkg.scripts.build = 'echo compiling the assets && exit 1'
    writeFileSync(join(src, 'package.json'), JSON.stringify(pkg))
    const before = releaseCount()
    const { build: b, output } = await deploy(src)
    assert.equal(b.status, 'failed')
    assert.equal(b.release, null)
    assert.equal(b.slug, null)
    assert.match(output, /-----> Running build \(npm run build\)/)
    assert.match(output, /compiling the assets/)
    assert.match(output, / ! {5}npm run build failed \(exit code 1\)\./)
    assert.match(output, / ! {5}Build failed\n$/)
    assert.equal(releaseCount(), before)
  })

  test("build commands run sandboxed as the app's own uid, at /app, with the host read-only", async () => {
    const src = appDir('node-web')
    const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'))
    pkg.scripts.build = [
      'id -u > seen.txt',
      'pwd >> seen.txt',
      '(touch /usr/localspace-probe 2>/dev/null && echo host-writable || echo host-read-only) >> seen.txt',
      `(test -e ${join(dir, 'blobs')} && echo data-visible || echo data-hidden) >> seen.txt`,
      '(test -e /root && echo root-visible || echo root-hidden) >> seen.txt',
    ].join(' && ')
    writeFileSync(join(src, 'package.json'), JSON.stringify(pkg))
    const { build: b, output } = await deploy(src)
    assert.equal(b.status, 'succeeded', output)
    const seen = readFileSync(join(slugDir(dir, b.slug.id as string), 'seen.txt'), 'utf8')
    const uid = api.store.apps.uidOf(api.store.apps.find(APP)!.id)
    assert.ok(uid > 0)
    assert.equal(seen, `${uid}\n/app\nhost-read-only\ndata-hidden\nroot-hidden\n`)
  })

  test('a corrupt tarball fails the build with a clear line', async () => {
    const before = releaseCount()
    const { build: b, output } = await build(await upload(randomBytes(2000)))
    assert.equal(b.status, 'failed')
    assert.match(output, /not a valid gzipped tarball/)
    assert.equal(releaseCount(), before)
  })

  test('a tarball with paths outside the app is refused, and nothing is written there', async () => {
    const src = appDir('node-web')
    const outside = join(dirname(src), `escape-${randomBytes(4).toString('hex')}`)
    scratch.push(outside)
    writeFileSync(outside, 'outside')
    const tarball = join(src, '..', `${randomBytes(4).toString('hex')}.tgz`)
    scratch.push(tarball)
    // GNU tar keeps `../` with -P (--absolute-names), as a hostile client would.
    execFileSync('tar', ['-czPf', tarball, '.', `../${outside.split('/').pop()}`], { cwd: src })
    rmSync(outside)
    const before = releaseCount()
    const { build: b, output } = await build(await upload(readFileSync(tarball)))
    assert.equal(b.status, 'failed')
    assert.match(output, /refused: path leaves the app directory/)
    assert.equal(existsSync(outside), false)
    assert.equal(releaseCount(), before)
  })

  test('no Procfile and nothing detectable fails with a message that says so', async () => {
    const src = appDir()
    writeFileSync(join(src, 'README.txt'), 'just words')
    const before = releaseCount()
    const { build: b, output } = await deploy(src)
    assert.equal(b.status, 'failed')
    assert.match(output, /No Procfile and no app type detected/)
    assert.equal(releaseCount(), before)
  })

  test('a plain Procfile app builds without commands', async () => {
    const src = appDir()
    writeFileSync(join(src, 'Procfile'), 'web: sh -c "echo hi"\nworker: ./not-here\n')
    const { build: b, output } = await deploy(src)
    assert.equal(b.status, 'succeeded', output)
    assert.match(output, /Procfile app detected/)
    assert.match(output, /Process type worker: \.\/not-here was not found/)
    const slug = await api.call('GET', `/apps/${APP}/slugs/${b.slug.id}`)
    assert.deepEqual(slug.body.process_types, { web: 'sh -c "echo hi"', worker: './not-here' })
    const worker = await api.call('GET', `/apps/${APP}/formation/worker`)
    assert.equal(worker.body.quantity, 0)
  })

  test("the app's buildpacks choose detection (heroku buildpacks:set)", async () => {
    const setBuildpacks = async (...urls: string[]) => {
      const res = await api.call('PUT', `/apps/${APP}/buildpack-installations`, {
        updates: urls.map((buildpack) => ({ buildpack })),
      })
      assert.equal(res.status, 200, JSON.stringify(res.body))
    }
    const src = appDir('node-web')
    writeFileSync(join(src, 'Procfile'), 'web: node server.js\n')
    try {
      // Procfile only: the Node.js app is not built with npm.
      await setBuildpacks('heroku/procfile')
      const plain = await deploy(src)
      assert.equal(plain.build.status, 'succeeded', plain.output)
      assert.match(plain.output, /Procfile app detected/)
      assert.doesNotMatch(plain.output, /npm/)
      // A buildpack the app does not fit fails the build and says why; no release.
      await setBuildpacks('https://github.com/heroku/heroku-buildpack-python')
      const before = releaseCount()
      const wrong = await deploy(src)
      assert.equal(wrong.build.status, 'failed')
      assert.match(wrong.output, /buildpacks include Python, but it has no requirements\.txt/)
      assert.equal(releaseCount(), before)
    } finally {
      await setBuildpacks()
    }
    const detected = await deploy(src)
    assert.match(detected.output, /Node\.js app detected/)
  })

  test('a checksum that does not match fails the build', async () => {
    const url = await upload(await pack(join(EXAMPLES, 'node-web')))
    const res = await api.call('POST', `/apps/${APP}/builds`, {
      source_blob: { url, checksum: `SHA256:${'0'.repeat(64)}` },
    })
    assert.equal(res.status, 201)
    const output = await (await fetch(res.body.output_stream_url as string)).text()
    await builder.idle()
    assert.match(output, /does not match its checksum/)
    // What a URL serves is never told: no digest of it.
    assert.doesNotMatch(output, /[0-9a-f]{64}/)
    assert.equal(
      (await api.call('GET', `/apps/${APP}/builds/${res.body.id}`)).body.status,
      'failed',
    )
  })

  test('a source URL on the host or a private address is refused, after resolution too', async () => {
    const secret = await serve('127.0.0.1', () => ({ status: 200, body: Buffer.from('secret') }))
    try {
      const port = new URL(secret.url).port
      for (const url of [
        `${secret.url}/app.tgz`,
        `http://localhost:${port}/app.tgz`, // a name, judged on what it resolves to
        `http://[::ffff:127.0.0.1]:${port}/app.tgz`,
        'http://169.254.169.254/latest/meta-data/',
        'http://10.255.255.1/app.tgz',
      ]) {
        const { build: b, output } = await build(url)
        assert.equal(b.status, 'failed', url)
        assert.match(output, /The source URL was refused: address not allowed\./, url)
        assert.doesNotMatch(output, /HTTP \d{3}/, url)
      }
      assert.deepEqual(secret.seen, [], 'nothing reached the host')
    } finally {
      await secret.close()
    }
  })

  test('every redirect is judged again: one to the host is refused', async () => {
    const tarball = await pack(join(EXAMPLES, 'node-web'))
    const secret = await serve('127.0.0.1', () => ({ status: 200, body: tarball }))
    const outside = await serve(PUBLIC_STAND_IN, (path) =>
      path === '/app.tgz'
        ? { status: 200, body: tarball }
        : path === '/moved'
          ? { status: 302, location: '/app.tgz' }
          : { status: 307, location: `${secret.url}/app.tgz` },
    )
    try {
      const refused = await build(`${outside.url}/to-the-host`)
      assert.equal(refused.build.status, 'failed')
      assert.match(refused.output, /The source URL was refused: address not allowed\./)
      assert.deepEqual(secret.seen, [], 'the redirect was not followed to the host')
      // Allowed addresses all the way: fetched, through a redirect.
      const fetched = await build(`${outside.url}/moved`)
      assert.equal(fetched.build.status, 'succeeded', fetched.output)
      assert.deepEqual(outside.seen, ['/to-the-host', '/moved', '/app.tgz'])
    } finally {
      await Promise.all([secret.close(), outside.close()])
    }
  })

  test('an upload over the size limit is 413 in Heroku shape, and nothing is kept', async () => {
    const res = await api.call('POST', '/sources')
    const putUrl = res.body.source_blob.put_url as string
    const put = await fetch(putUrl, { method: 'PUT', body: randomBytes(MAX_SOURCE_BYTES + 1) })
    assert.equal(put.status, 413)
    const body = (await put.json()) as { id: string; message: string }
    assert.equal(body.id, 'payload_too_large')
    assert.match(body.message, /larger than/)
    assert.equal(sources.path(putUrl.split('/').pop()!), undefined)
    assert.equal((await fetch(putUrl)).status, 404)
  })

  test('bad build requests are refused and change nothing', async () => {
    const before = api.store.builds.list(api.store.apps.find(APP)!.id).length
    const unknown = await api.call('POST', '/apps/no-such-app/builds', {
      source_blob: { url: 'http://127.0.0.1/x.tgz' },
    })
    assert.equal(unknown.status, 404)
    assert.equal(unknown.body.id, 'not_found')
    const noBlob = await api.call('POST', `/apps/${APP}/builds`, {})
    assert.equal(noBlob.status, 422)
    const ftp = await api.call('POST', `/apps/${APP}/builds`, {
      source_blob: { url: 'ftp://example.com/app.tgz' },
    })
    assert.equal(ftp.status, 422)
    assert.match(ftp.body.message, /http or https/)
    const noKey = await api.call(
      'POST',
      `/apps/${APP}/builds`,
      { source_blob: { url: 'http://127.0.0.1/x.tgz' } },
      { key: null },
    )
    assert.equal(noKey.status, 401)
    assert.equal(
      (await api.call('GET', `/apps/${APP}/builds/${randomBytes(8).toString('hex')}`)).status,
      404,
    )
    assert.equal((await api.call('GET', `/apps/${APP}/slugs/nope`)).status, 404)
    assert.equal(api.store.builds.list(api.store.apps.find(APP)!.id).length, before)
    const stream = await fetch(`${apiUrl}/localspace/builds/not-a-token/output`)
    assert.equal(stream.status, 404)
  })

  /** Runs `localspace <args>` against this API; returns its output and exit code. */
  const cli = async (args: string[]) => {
    let stdout = ''
    let stderr = ''
    const sink = (take: (text: string) => void) =>
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          take(chunk.toString('utf8'))
          done()
        },
      })
    const deps = defaultDeps({
      env: { LOCALSPACE_API_URL: apiUrl, LOCALSPACE_API_KEY: api.adminKey, NO_COLOR: '1' },
      stdout: sink((t) => (stdout += t)),
      stderr: sink((t) => (stderr += t)),
    })
    process.exitCode = 0
    await buildProgram(deps).parseAsync(['node', 'localspace', ...args])
    const code = process.exitCode ?? 0
    process.exitCode = 0
    return { stdout, stderr, code }
  }

  test('localspace deploy packs a directory, builds it and prints the output', async () => {
    const src = appDir('node-web')
    // Left out of the upload: version control (npm ci would clear node_modules anyway).
    mkdirSync(join(src, '.git'))
    writeFileSync(join(src, '.git', 'HEAD'), 'ref: refs/heads/main')
    const ok = await cli(['deploy', src, '-a', APP, '--version', 'abc123'])
    assert.equal(ok.code, 0, ok.stderr + ok.stdout)
    assert.match(ok.stdout, /-----> Node\.js app detected/)
    assert.match(ok.stdout, /Deployed build-app as v\d+/)
    const slugId = api.store.releases.current(api.store.apps.find(APP)!.id)!.slugId!
    assert.equal(existsSync(join(slugDir(dir, slugId), '.git')), false)
    assert.ok(existsSync(join(slugDir(dir, slugId), 'server.js')))

    const empty = appDir()
    writeFileSync(join(empty, 'notes.txt'), 'nothing to run')
    const failed = await cli(['deploy', empty, '-a', APP])
    assert.equal(failed.code, 1)
    assert.match(failed.stdout, /No Procfile and no app type detected/)
    assert.match(failed.stderr, /Build failed/)
  })

  test('a source URL that cannot be downloaded fails the build', async () => {
    // An allowed address answers 404 (its status is told: the address is allowed).
    const missing = await serve(PUBLIC_STAND_IN, () => ({ status: 404 }))
    try {
      const { build: b, output } = await build(`${missing.url}/app.tgz`)
      assert.equal(b.status, 'failed')
      assert.match(output, /HTTP 404/)
    } finally {
      await missing.close()
    }
  })
})
