/**
 * Checks a DataServerSpec before any of it reaches a command line, a configuration file or
 * a path: the store is trusted, but a wrong value here would be written into a root-run
 * script or a server's config.
 */
import { checkCidr, checkIfname, checkIpv4 } from '../network/validate.js'
import type { DataServerSpec } from './types.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export class DataSpecError extends Error {
  override name = 'DataSpecError'
}

export function checkSpec(spec: DataServerSpec): void {
  const fail = (what: string) => {
    throw new DataSpecError(`data server ${spec.addonId}: ${what}`)
  }
  if (!UUID.test(spec.addonId)) fail('the add-on id is not a UUID')
  if (spec.kind !== 'postgres' && spec.kind !== 'redis') fail(`unknown kind ${String(spec.kind)}`)
  for (const a of [spec.address, spec.gateway, ...(spec.followers ?? [])]) checkIpv4(a, 'address')
  if (spec.follow) checkIpv4(spec.follow.address, 'leader address')
  checkIfname(spec.dataBridge)
  checkCidr(spec.dynoCidr, 'dyno network')
  if (!Number.isInteger(spec.prefix) || spec.prefix < 8 || spec.prefix > 30) fail('bad prefix')
  if (!Number.isInteger(spec.memoryMb) || spec.memoryMb < 64) fail('memory below 64 MB')
  if (!Number.isInteger(spec.maxConnections) || spec.maxConnections < 2)
    fail('bad connection limit')
  // The password goes into config files and a libpq password file: printable ASCII, no quote.
  if (!/^[\x21-\x7e]{16,128}$/.test(spec.password) || /["'\\]/.test(spec.password))
    fail('the password must be 16–128 printable characters without quotes or backslashes')
  // Names go into SQL (quoted) and a URL: Postgres's plain identifiers only.
  for (const name of [spec.user, spec.database])
    if (name !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(name))
      fail(`bad role or database name ${name}`)
  if (spec.attachmentId !== undefined && !UUID.test(spec.attachmentId))
    fail('the attachment id is not a UUID')
  if (!spec.dataDir.startsWith('/') || spec.dataDir.split('/').includes('..'))
    fail('the data directory must be an absolute path')
}
