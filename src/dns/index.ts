/**
 * The space DNS server (docs/design.md §2: a data plane). The daemon feeds a MemoryDnsRecords from
 * the store and the runtime, starts one DnsService on it, and tells it which gateway
 * addresses to listen on as spaces come and go.
 */
export { DnsService, type DnsServiceOptions } from './service.js'
export {
  MemoryDnsRecords,
  type DnsApp,
  type DnsDyno,
  type DnsRecordEvent,
  type DnsRecords,
  type DnsSpace,
} from './records.js'
export { ZONE } from './zone.js'
export type { Upstream } from './forwarder.js'
export { parseResolvConf, readResolvConf } from './resolv-conf.js'
