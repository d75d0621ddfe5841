import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  DEFAULT_TOOLS,
  dynoEnv,
  envArgsFile,
  sandboxCommand,
  SandboxError,
  type DynoSpec,
  type SandboxHost,
} from './sandbox.js'

const spec: DynoSpec = {
  id: 'd-1234',
  appId: '7ef41ec6-b4a9-4739-a646-fab8e08960a3',
  appName: 'myapp',
  processType: 'web',
  number: 1,
  releaseVersion: 7,
  command: 'node server.js',
  configVars: { DATABASE_URL: 'postgres://secret@db/x', PORT: '1', PATH: '/app/bin:/usr/bin' },
  port: 5000,
  privateIp: '10.0.134.42',
  memoryMb: 1024,
  uid: 10001,
  gid: 10002,
  netns: 'ls-0000abcd',
  slugDir: '/var/lib/localspace/slugs/s1',
  dynoDir: '/var/lib/localspace/dynos/d-1234',
}

const host: SandboxHost = {
  cgroupRoot: '/sys/fs/cgroup/memory/localspace',
  rootEntries: [{ name: 'usr' }, { name: 'bin', symlink: 'usr/bin' }, { name: 'var' }],
  hide: ['/var/lib/localspace'],
  tools: DEFAULT_TOOLS,
}

const indexOf = (argv: string[], word: string) => {
  const i = argv.indexOf(word)
  assert.ok(i >= 0, `${word} missing from ${argv.join(' ')}`)
  return i
}

describe('dynoEnv', () => {
  test('sets the Heroku variables, which config vars cannot override', () => {
    const env = dynoEnv(spec)
    assert.equal(env.PORT, '5000')
    assert.equal(env.DYNO, 'web.1')
    assert.equal(env.HOME, '/app')
    assert.equal(env.HEROKU_PRIVATE_IP, '10.0.134.42')
    assert.equal(env.HEROKU_DNS_FORMATION_NAME, 'web.myapp.app.localspace')
    assert.equal(env.HEROKU_DNS_DYNO_NAME, '1.web.myapp.app.localspace')
    assert.equal(env.HEROKU_DNS_APP_NAME, 'myapp.app.localspace')
    assert.equal(env.HEROKU_APP_NAME, 'myapp')
    assert.equal(env.HEROKU_APP_ID, spec.appId)
    assert.equal(env.HEROKU_RELEASE_VERSION, 'v7')
    assert.equal(env.DATABASE_URL, 'postgres://secret@db/x')
    assert.equal(env.PATH, '/app/bin:/usr/bin', 'a config var may set PATH')
  })

  test('the env file is NUL-separated bwrap arguments that clear the environment first', () => {
    const file = envArgsFile({ A: 'x y', B: '' })
    assert.equal(file, '--clearenv\0--setenv\0A\0x y\0--setenv\0B\0\0')
    assert.throws(() => envArgsFile({ 'BAD NAME': 'x' }), SandboxError)
  })
})

describe('sandboxCommand', () => {
  const argv = sandboxCommand(spec, host)

  test('joins the cgroup first, then the network namespace, then drops root, then bwrap', () => {
    assert.equal(argv[0], '/bin/sh')
    assert.equal(argv[4], '/sys/fs/cgroup/memory/localspace/d-1234/cgroup.procs')
    const ip = indexOf(argv, '/usr/sbin/ip')
    assert.deepEqual(argv.slice(ip, ip + 4), ['/usr/sbin/ip', 'netns', 'exec', 'ls-0000abcd'])
    const setpriv = indexOf(argv, '/usr/bin/setpriv')
    const bwrap = indexOf(argv, '/usr/bin/bwrap')
    assert.ok(ip < setpriv && setpriv < bwrap)
    const drop = argv.slice(setpriv, bwrap)
    for (const flag of ['--reuid=10001', '--regid=10002', '--clear-groups', '--no-new-privs'])
      assert.ok(drop.includes(flag), flag)
    assert.ok(drop.includes('--inh-caps=-all') && drop.includes('--bounding-set=-all'))
  })

  test('bwrap: new namespaces, read-only host, private /app /tmp /proc /dev, command via sh -c', () => {
    const b = argv.slice(indexOf(argv, '/usr/bin/bwrap'))
    for (const flag of ['--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-uts'])
      assert.ok(b.includes(flag), flag)
    assert.ok(!b.includes('--unshare-net'), 'the network namespace is the one from attach')
    assert.ok(!b.includes('--share-net') && !b.includes('--bind-try'))
    const pairs = b.map((a, i) => `${a} ${b[i + 1]} ${b[i + 2]}`)
    assert.ok(pairs.includes('--ro-bind /usr /usr'))
    assert.ok(pairs.includes('--symlink usr/bin /bin'))
    assert.ok(pairs.includes('--bind /var/lib/localspace/dynos/d-1234/app /app'))
    const hidden = ['/var/lib/localspace', '/var/lib/localspace/dynos', '/var/lib/localspace/slugs']
    for (const dir of ['/tmp', '/run', ...hidden])
      assert.ok(b.join(' ').includes(`--tmpfs ${dir} `), dir)
    assert.ok(pairs.some((p) => p.startsWith('--proc /proc')))
    assert.ok(pairs.some((p) => p.startsWith('--dev /dev')))
    assert.ok(pairs.includes('--args 3 --'), 'the environment comes from fd 3')
    assert.ok(pairs.includes('--remount-ro / --new-session'), 'the root tmpfs is read-only')
    assert.deepEqual(b.slice(-4), ['--', '/bin/bash', '-c', 'node server.js'])
    // Every writable bind is the dyno's own overlay.
    const writable = b.flatMap((a, i) => (a === '--bind' ? [b[i + 1]] : []))
    assert.deepEqual(writable, ['/var/lib/localspace/dynos/d-1234/app'])
  })

  test('config vars never appear on the command line (it is world-readable in /proc)', () => {
    assert.ok(!argv.join(' ').includes('secret'))
    assert.ok(!argv.includes('--setenv'))
  })

  test('rejects root, odd ids and paths overlayfs options would misread', () => {
    assert.throws(() => sandboxCommand({ ...spec, uid: 0 }, host), SandboxError)
    assert.throws(() => sandboxCommand({ ...spec, gid: 0 }, host), SandboxError)
    assert.throws(() => sandboxCommand({ ...spec, id: '../x' }, host), SandboxError)
    assert.throws(() => sandboxCommand({ ...spec, slugDir: '/a,upperdir=/x' }, host), SandboxError)
    assert.throws(() => sandboxCommand({ ...spec, slugDir: '/a:/b' }, host), SandboxError)
    assert.throws(() => sandboxCommand({ ...spec, dynoDir: 'relative' }, host), SandboxError)
    assert.throws(() => sandboxCommand({ ...spec, port: 0 }, host), SandboxError)
  })
})
