/**
 * The space DNS server against real namespaces and `dig`, on port 53 of real gateway
 * addresses: two spaces (bridges with their C.0.1), dyno namespaces made by src/network's
 * attach, an outsider, and a dnsmasq in a namespace of its own as the upstream resolver. Runs
 * in scripts/sandbox, so none of it touches the host.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { run } from '../../src/exec/run.js'
import { MemoryDnsRecords, type DnsDyno } from '../../src/dns/index.js'
import { DnsService } from '../../src/dns/service.js'
import { attach, detach, type DesiredAttachment } from '../../src/network/index.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

const S = {
  id: 'dns-s',
  bridge: 'lsb-0000d5a0',
  cidr: '10.60.0.0/16',
  dataCidr: '10.61.0.0/16',
  gateway: '10.60.0.1',
  internalRouter: '10.60.0.3',
  domain: 'internal.example',
}
const T = {
  ...S,
  id: 'dns-t',
  bridge: 'lsb-0000d5b0',
  cidr: '10.62.0.0/16',
  gateway: '10.62.0.1',
  internalRouter: '10.62.0.3',
}
const UPSTREAM_BRIDGE = 'lsb-0000d5f0'

const ns = (space: typeof S, n: number, address: string): DesiredAttachment => ({
  id: `dns-${space.id}-${n}`,
  bridge: space.bridge,
  address,
  prefix: 16,
  gateway: space.gateway,
  dns: space.gateway,
  netns: `ls-${space === S ? '0000d5a' : '0000d5b'}${n}`,
  veth: `lsv-${space === S ? '0000d5a' : '0000d5b'}${n}`,
})
const dynoS = ns(S, 1, '10.60.128.200')
const dynoT = ns(T, 1, '10.62.128.200')
/** On S's bridge, but from an address in no space. */
const outsider = ns(S, 2, '10.60.128.201')
const upstreamNs: DesiredAttachment = {
  id: 'dns-upstream',
  bridge: UPSTREAM_BRIDGE,
  address: '10.70.0.2',
  prefix: 24,
  gateway: '10.70.0.1',
  dns: '10.70.0.1',
  netns: 'ls-0000d5f1',
  veth: 'lsv-0000d5f1',
}

const web = (n: number): DnsDyno => ({
  id: `web-${n}`,
  appId: 'shop',
  processType: 'web',
  number: n,
  privateIp: `10.60.128.${n}`,
  port: 5000 + n,
})

/** Runs dig inside a namespace; returns its full output. */
async function dig(netns: string, args: string[]): Promise<string> {
  const { stdout } = await run(
    'ip',
    ['netns', 'exec', netns, 'dig', '+tries=1', '+time=3', ...args],
    { timeoutMs: 15_000 },
  )
  return stdout
}
const status = (out: string) => /status: (\w+)/.exec(out)?.[1]
/** The data of the answer records of every query in a dig output, one list per query. */
const answersOf = (out: string): string[][] =>
  out
    .split('->>HEADER<<-')
    .slice(1)
    .map((block) => {
      const section = /;; ANSWER SECTION:\n([\s\S]*?)(\n\n|$)/.exec(block)?.[1] ?? ''
      return section
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => l.split(/\s+/).slice(4).join(' '))
    })

function sandboxedTests(): void {
  describe('space DNS with dig in real namespaces', () => {
    const records = new MemoryDnsRecords()
    let dns: DnsService
    let dnsmasq: ChildProcess | undefined

    before(async () => {
      for (const [bridge, cidr] of [
        [S.bridge, '10.60.0.1/16'],
        [T.bridge, '10.62.0.1/16'],
        [UPSTREAM_BRIDGE, '10.70.0.1/24'],
      ] as const) {
        await run('ip', ['link', 'add', bridge, 'type', 'bridge'])
        await run('ip', ['addr', 'add', cidr, 'dev', bridge])
        await run('ip', ['link', 'set', bridge, 'up'])
      }
      for (const a of [dynoS, dynoT, outsider, upstreamNs]) await attach(run, a)
      // The outsider speaks from 192.168.77.5, which the host routes back over S's bridge.
      await run('ip', ['-n', outsider.netns, 'addr', 'add', '192.168.77.5/32', 'dev', 'eth0'])
      await run('ip', ['route', 'add', '192.168.77.5/32', 'dev', S.bridge])
      dnsmasq = spawn(
        'ip',
        [
          'netns',
          'exec',
          upstreamNs.netns,
          'dnsmasq',
          '--no-daemon',
          '--no-resolv',
          '--no-hosts',
          '--bind-interfaces',
          '--listen-address=10.70.0.2',
          '--address=/upstream.example/192.0.2.7',
          '--pid-file=',
          '--user=root',
          '--log-facility=-',
        ],
        { stdio: 'ignore' },
      )

      records.setSpace(S)
      records.setSpace(T)
      records.setApp({
        id: 'shop',
        spaceId: S.id,
        name: 'shop',
        internalRouting: true,
        dnsDiscovery: true,
      })
      records.setApp({
        id: 'secret',
        spaceId: T.id,
        name: 'secret',
        internalRouting: false,
        dnsDiscovery: true,
      })
      for (let n = 1; n <= 5; n++) records.setDyno(web(n))
      records.setDyno({
        id: 's1',
        appId: 'secret',
        processType: 'web',
        number: 1,
        privateIp: '10.62.128.1',
        port: 5000,
      })
      records.setSynced(true)
      dns = await DnsService.start({ records, upstreams: [{ address: '10.70.0.2', port: 53 }] })
      await dns.setListenAddresses([S.gateway, T.gateway])
      await waitUntil('dnsmasq answering', async () =>
        (
          await dig(dynoS.netns, ['@10.60.0.1', '+short', 'upstream.example']).catch(() => '')
        ).includes('192.0.2.7'),
      )
    })

    after(async () => {
      await dns?.close()
      dnsmasq?.kill()
      for (const a of [dynoS, dynoT, outsider, upstreamNs])
        await detach(run, a).catch(() => undefined)
      for (const b of [S.bridge, T.bridge, UPSTREAM_BRIDGE])
        await run('ip', ['link', 'del', b]).catch(() => undefined)
    })

    test('every name form and record type, from a dyno', async () => {
      const out = await dig(dynoS.netns, ['@10.60.0.1', '1.Web.SHOP.app.localspace'])
      assert.equal(status(out), 'NOERROR')
      assert.match(out, /flags: qr aa rd ra/)
      assert.match(out, /^1\.Web\.SHOP\.app\.localspace\.\s+5\s+IN\s+A\s+10\.60\.128\.1$/m)
      const srv = await dig(dynoS.netns, [
        '@10.60.0.1',
        '+short',
        '_web._tcp.shop.app.localspace',
        'SRV',
      ])
      assert.deepEqual(
        srv.trim().split('\n'),
        [1, 2, 3, 4, 5].map((n) => `0 1 ${5000 + n} ${n}.web.shop.app.localspace.`),
      )
      assert.equal(
        (await dig(dynoS.netns, ['@10.60.0.1', '+short', 'shop.app.localspace', 'TXT'])).trim(),
        '"web"',
      )
      assert.equal(
        (await dig(dynoS.netns, ['@10.60.0.1', '+short', 'shop.internal.example'])).trim(),
        '10.60.0.3',
      )
      const nx = await dig(dynoS.netns, ['@10.60.0.1', '9.web.shop.app.localspace'])
      assert.equal(status(nx), 'NXDOMAIN')
      assert.match(
        nx,
        /^app\.localspace\.\s+5\s+IN\s+SOA\s+ns\.app\.localspace\. hostmaster\.app\.localspace\. \d+ 3600 600 86400 5$/m,
      )
      const nodata = await dig(dynoS.netns, ['@10.60.0.1', '1.web.shop.app.localspace', 'AAAA'])
      assert.equal(status(nodata), 'NOERROR')
      assert.match(nodata, /ANSWER: 0, AUTHORITY: 1/)
      // The resolv.conf attach wrote: a bare `dig name` from a dyno asks C.0.1.
      assert.equal(
        (await dig(dynoS.netns, ['+short', '2.web.shop.app.localspace'])).trim(),
        '10.60.128.2',
      )
    })

    test('process-type name: ≤ 3 records each, every dyno seen over 100 queries', async () => {
      const seen = new Set<string>()
      for (let batch = 0; batch < 10; batch++) {
        const names = Array(10).fill('web.shop.app.localspace')
        const answers = answersOf(await dig(dynoS.netns, ['@10.60.0.1', ...names]))
        assert.equal(answers.length, 10)
        for (const a of answers) {
          assert.equal(a.length, 3, a.join(','))
          assert.equal(new Set(a).size, 3)
          a.forEach((ip) => seen.add(ip))
        }
      }
      assert.deepEqual(
        [...seen].sort(),
        [1, 2, 3, 4, 5].map((n) => `10.60.128.${n}`),
      )
    })

    test('isolation: a space sees only its own names; outsiders are REFUSED', async () => {
      const fromT = await dig(dynoT.netns, ['@10.62.0.1', '1.web.shop.app.localspace'])
      assert.equal(status(fromT), 'NXDOMAIN')
      assert.doesNotMatch(fromT, /10\.60\.128/)
      assert.match(
        await dig(dynoT.netns, ['@10.62.0.1', '+short', '1.web.secret.app.localspace']),
        /10\.62\.128\.1/,
      )
      // S's dyno on T's gateway, and an address in no space on S's.
      assert.equal(
        status(await dig(dynoS.netns, ['@10.62.0.1', '1.web.secret.app.localspace'])),
        'REFUSED',
      )
      assert.equal(
        status(await dig(dynoS.netns, ['@10.60.0.1', '1.web.secret.app.localspace'])),
        'NXDOMAIN',
      )
      const out = await dig(outsider.netns, [
        '@10.60.0.1',
        '-b',
        '192.168.77.5',
        '1.web.shop.app.localspace',
      ])
      assert.equal(status(out), 'REFUSED')
      assert.doesNotMatch(out, /10\.60\.128\.1\b/)
    })

    test('other names go to the upstream resolver (dnsmasq in a namespace)', async () => {
      const out = await dig(dynoS.netns, ['@10.60.0.1', 'UPSTREAM.example'])
      assert.equal(status(out), 'NOERROR')
      assert.match(out, /^UPSTREAM\.example\.\s+\d+\s+IN\s+A\s+192\.0\.2\.7$/m)
      // From the other space too, and again (now from the cache).
      assert.match(
        await dig(dynoT.netns, ['@10.62.0.1', '+short', 'upstream.example']),
        /192\.0\.2\.7/,
      )
    })

    test('TCP, and truncation over UDP with the full answer over TCP', async () => {
      for (let n = 10; n < 50; n++) records.setDyno(web(n))
      try {
        const name = '_web._tcp.shop.app.localspace'
        const udp = await dig(dynoS.netns, ['@10.60.0.1', '+noedns', '+ignore', name, 'SRV'])
        assert.match(udp, /flags: qr aa tc rd ra/)
        assert.match(udp, /ANSWER: 0,/)
        // dig retries over TCP on its own when it sees TC.
        const retried = await dig(dynoS.netns, ['@10.60.0.1', '+noedns', name, 'SRV'])
        assert.match(retried, /ANSWER: 45,/)
        const tcp = await dig(dynoS.netns, [
          '@10.60.0.1',
          '+tcp',
          '+short',
          '1.web.shop.app.localspace',
        ])
        assert.equal(tcp.trim(), '10.60.128.1')
      } finally {
        for (let n = 10; n < 50; n++) records.removeDyno(web(n).id)
      }
    })

    test('EDNS: our OPT in answers, unknown options ignored, BADVERS above version 0', async () => {
      const out = await dig(dynoS.netns, [
        '@10.60.0.1',
        '+ednsopt=65001:abcd',
        '1.web.shop.app.localspace',
      ])
      assert.match(out, /EDNS: version: 0, flags:; udp: 1232/)
      assert.match(out, /10\.60\.128\.1/)
      const bad = await dig(dynoS.netns, [
        '@10.60.0.1',
        '+edns=1',
        '+noednsnegotiation',
        '1.web.shop.app.localspace',
      ])
      assert.equal(status(bad), 'BADVERS')
    })

    test('names follow dynos being added and removed', async () => {
      records.setDyno(web(8))
      assert.equal(
        (await dig(dynoS.netns, ['@10.60.0.1', '+short', '8.web.shop.app.localspace'])).trim(),
        '10.60.128.8',
      )
      records.removeDyno(web(8).id)
      assert.equal(
        status(await dig(dynoS.netns, ['@10.60.0.1', '8.web.shop.app.localspace'])),
        'NXDOMAIN',
      )
      records.setApp({
        id: 'shop',
        spaceId: S.id,
        name: 'shop',
        internalRouting: true,
        dnsDiscovery: false,
      })
      assert.equal(
        status(await dig(dynoS.netns, ['@10.60.0.1', '1.web.shop.app.localspace'])),
        'NXDOMAIN',
      )
      records.setApp({
        id: 'shop',
        spaceId: S.id,
        name: 'shop',
        internalRouting: true,
        dnsDiscovery: true,
      })
      assert.equal(
        (await dig(dynoS.netns, ['@10.60.0.1', '+short', '1.web.shop.app.localspace'])).trim(),
        '10.60.128.1',
      )
    })
  })
}

if (sandboxed(import.meta.url)) sandboxedTests()
