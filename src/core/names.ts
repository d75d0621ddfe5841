/** Heroku's name rules (heroku-platform-schema.json), checked before anything is stored. */
export const APP_NAME = /^[a-z][a-z0-9-]{1,28}[a-z0-9]$/
export const SPACE_NAME = /^[a-z0-9](?:[a-z0-9]|-(?!-))+[a-z0-9]$/
export const SPACE_NAME_MAX = 30
export const TEAM_NAME = /^[a-z][a-z0-9-]{1,28}[a-z0-9]$/
export const PROCESS_TYPE = /^[-\w]{1,128}$/
export const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/
/**
 * A config var value becomes an environment variable of every dyno, and the environment is a
 * list of C strings: a NUL cannot be in one. Accepted, it would stop every dyno of the app
 * from starting (runtime/sandbox.ts refuses it there), so it is refused where it comes in.
 */
export const isConfigValue = (value: string): boolean => !value.includes('\0')
export const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const isUuid = (s: string): boolean => UUID.test(s)
