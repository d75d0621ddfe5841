import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'

/** scrypt with a per-password salt; stored as `scrypt$<salt>$<hash>` (both base64url). */
export function hashPassword(password: string): string {
  const salt = randomBytes(16)
  const hash = scryptSync(password, salt, 32)
  return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`
}

export function verifyPassword(password: string, stored: string | null): boolean {
  if (!stored) return false
  const [scheme, saltText, hashText] = stored.split('$')
  if (scheme !== 'scrypt' || !saltText || !hashText) return false
  const expected = Buffer.from(hashText, 'base64url')
  const actual = scryptSync(password, Buffer.from(saltText, 'base64url'), expected.length)
  return timingSafeEqual(actual, expected)
}

export const generatePassword = (): string => randomBytes(18).toString('base64url')
