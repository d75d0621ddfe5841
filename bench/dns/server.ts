/**
 * The localspace side of bench/dns: a DnsService on `GATEWAY`:53 of a space 127.10.0.0/16
 * with one app of `DYNOS` web dynos (127.10.128.N). Prints "ready" once it answers.
 */
import { DnsService, MemoryDnsRecords } from '../../src/dns/index.js'

const gateway = process.env.GATEWAY ?? '127.10.0.1'
const dynos = Number(process.env.DYNOS ?? 50)
const records = new MemoryDnsRecords()
records.setSpace({
  id: 'bench',
  cidr: '127.10.0.0/16',
  gateway,
  internalRouter: '127.10.0.3',
  domain: 'internal.bench',
})
records.setApp({
  id: 'shop',
  spaceId: 'bench',
  name: 'shop',
  internalRouting: true,
  dnsDiscovery: true,
})
for (let n = 1; n <= dynos; n++)
  records.setDyno({
    id: `d${n}`,
    appId: 'shop',
    processType: 'web',
    number: n,
    privateIp: `127.10.128.${n}`,
    port: 5000,
  })
records.setSynced(true)

void (async () => {
  const dns = await DnsService.start({ records, upstreams: [] })
  await dns.addListenAddress(gateway)
  console.log('ready')
  process.on('SIGTERM', () => void dns.close().then(() => process.exit(0)))
})()
