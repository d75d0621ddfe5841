import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'

const scryptAsync = promisify(scrypt)

const KEY_LENGTH = 32

/**
 * scrypt with a per-password salt; stored as `scrypt$<salt>$<hash>` (both base64url).
 * Synchronous: accounts are made by the installation admin and on first start, rarely.
 */
export function hashPassword(password: string): string {
  const salt = randomBytes(16)
  const hash = scryptSync(password, salt, KEY_LENGTH)
  return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`
}

interface ScryptHash {
  salt: Buffer
  hash: Buffer
}

/**
 * A hash no password matches (random salt and hash), checked when the email is unknown or
 * has no password: a sign-in then costs the same scrypt whether the account exists or not,
 * so its timing does not tell.
 */
const DUMMY: ScryptHash = { salt: randomBytes(16), hash: randomBytes(KEY_LENGTH) }

function parseHash(stored: string | null): ScryptHash | undefined {
  const [scheme, salt, hash] = (stored ?? '').split('$')
  if (scheme !== 'scrypt' || !salt || !hash) return undefined
  const parsed = { salt: Buffer.from(salt, 'base64url'), hash: Buffer.from(hash, 'base64url') }
  return parsed.hash.length === KEY_LENGTH ? parsed : undefined
}

/**
 * Sign-ins running scrypt at once. Async scrypt runs on libuv's thread pool (4 threads),
 * which file reads and dns.lookup share: sign-ins never hold more than half of it.
 */
const MAX_CONCURRENT = 2
let running = 0
const waiting: (() => void)[] = []

async function derive(password: string, salt: Buffer, length: number): Promise<Buffer> {
  if (running < MAX_CONCURRENT) running++
  else await new Promise<void>((resolve) => waiting.push(resolve))
  try {
    return (await scryptAsync(password, salt, length)) as Buffer
  } finally {
    // The slot passes straight to the next waiter, or is given back.
    const next = waiting.shift()
    if (next) next()
    else running--
  }
}

/**
 * Whether `password` matches `stored`, off the event loop. Without a usable stored hash
 * (unknown email, an account with no password) it checks against DUMMY and says no: as slow.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parsed = parseHash(stored)
  const { salt, hash } = parsed ?? DUMMY
  const actual = await derive(password, salt, hash.length)
  return parsed !== undefined && timingSafeEqual(actual, hash)
}

export const generatePassword = (): string => randomBytes(18).toString('base64url')
