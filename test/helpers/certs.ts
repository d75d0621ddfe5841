/**
 * Test certificates made with the `openssl` command: self-signed ones for given names, and a
 * private CA with leaves it signed (a chain). PEM text; the temp files are gone on return.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestCertificate {
  cert: string
  key: string
}

function inTemp<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-certs-'))
  try {
    return work(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' })

/** A self-signed certificate for `names` (the first is the CN, all are subjectAltNames). */
export function selfSigned(names: readonly string[], days = 2): TestCertificate {
  return inTemp((dir) => {
    openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      String(days),
      '-subj',
      `/O=localspace test/CN=${names[0]}`,
      '-addext',
      `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ])
    return {
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    }
  })
}

/** A leaf for `names` signed by a fresh private CA: `cert` is the chain (leaf, then the CA). */
export function caSigned(names: readonly string[]): TestCertificate & { ca: string } {
  return inTemp((dir) => {
    const f = (n: string) => join(dir, n)
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    openssl([
      'req',
      '-x509',
      ...ec,
      '-days',
      '2',
      '-subj',
      '/O=localspace test/CN=Test CA',
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.pem'),
    ])
    openssl([
      'req',
      ...ec,
      '-subj',
      `/O=localspace test/CN=${names[0]}`,
      '-keyout',
      f('leaf.key'),
      '-out',
      f('leaf.csr'),
    ])
    writeFileSync(f('ext'), `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\n`)
    openssl([
      'x509',
      '-req',
      '-in',
      f('leaf.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f('ext'),
      '-out',
      f('leaf.pem'),
    ])
    const ca = readFileSync(f('ca.pem'), 'utf8')
    return {
      cert: readFileSync(f('leaf.pem'), 'utf8') + ca,
      key: readFileSync(f('leaf.key'), 'utf8'),
      ca,
    }
  })
}
