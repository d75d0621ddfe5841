/**
 * A TLS certificate per server: self-signed (as Heroku's are: clients use `sslmode=require`
 * and `rediss://` without verifying), for the server's address, so a client that does verify
 * (`verify-full` with the certificate as its root) can. EC P-256, made by `openssl`, as the
 * project's test certificates are (test/helpers/certs.ts); valid ten years, since nothing
 * renews it.
 */
import { chmod, chown } from 'node:fs/promises'
import type { Exec } from '../exec/run.js'
import type { DataUser } from './system-user.js'

export async function makeServerCertificate(
  exec: Exec,
  files: { certificate: string; key: string },
  address: string,
  owner: DataUser,
): Promise<void> {
  await exec('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
    ...['-nodes', '-days', '3650', '-subj', `/O=localspace/CN=${address}`],
    ...['-addext', `subjectAltName=IP:${address}`],
    ...['-keyout', files.key, '-out', files.certificate],
  ])
  // The servers read them as their own user; Postgres refuses a key others can read.
  await chmod(files.key, 0o600)
  for (const file of [files.key, files.certificate]) await chown(file, owner.uid, owner.gid)
}
