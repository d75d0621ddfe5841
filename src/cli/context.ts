/**
 * What every command gets: where to print, how to reach the API, how to ask questions. Commands
 * receive it as `deps` so tests can give them buffers and a fake API.
 */
import type { Command } from 'commander'
import { ApiClient, ApiError, ConnectionError } from './client.js'
import {
  credentialsPath,
  readCredentialsFile,
  resolveCredentials,
  unauthorizedHint,
  type Credentials,
} from './credentials.js'
import { Output } from './output.js'
import { PromptAborted, Prompter, type PromptInput } from './prompt.js'

export interface CliDeps {
  env: Record<string, string | undefined>
  out: Output
  prompt: Prompter
  credentialsFile: () => string
  credentials: () => Credentials
  /** A client for the resolved URL and key; built on first use, so `logout` needs no API. */
  client: () => ApiClient
  sleep: (ms: number) => Promise<void>
  now: () => number
}

export interface CliIo {
  env?: Record<string, string | undefined>
  stdout?: NodeJS.WritableStream & { isTTY?: boolean }
  stderr?: NodeJS.WritableStream & { isTTY?: boolean }
  stdin?: PromptInput
}

export function defaultDeps(io: CliIo = {}): CliDeps {
  const env = io.env ?? process.env
  const out = new Output(io.stdout ?? process.stdout, io.stderr ?? process.stderr, env)
  const credentialsFile = () => credentialsPath(env)
  const credentials = () => resolveCredentials(env, readCredentialsFile(credentialsFile()))
  let client: ApiClient | undefined
  return {
    env,
    out,
    prompt: new Prompter(io.stdin ?? process.stdin, out.stderr),
    credentialsFile,
    credentials,
    client: () => {
      if (!client) {
        const c = credentials()
        client = new ApiClient({
          url: c.url,
          token: c.token,
          unauthorizedHint: unauthorizedHint(c),
        })
      }
      return client
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
  }
}

/** A mistake the person can fix (wrong confirmation, bad argument); no stack trace, exit 1. */
export class UserError extends Error {
  override readonly name = 'UserError'
}

/** Prints any error the way `heroku` does: ` ▸    message`, then `Error ID: <id>`. */
export function reportError(deps: CliDeps, e: unknown): void {
  if (e instanceof ApiError) {
    deps.out.error(e.message)
    deps.out.error(`Error ID: ${e.id}`)
    if (e.hint) deps.out.error(e.hint)
  } else if (e instanceof ConnectionError || e instanceof UserError || e instanceof PromptAborted) {
    deps.out.error(e.message)
  } else {
    deps.out.error(e instanceof Error ? e.message : String(e))
    if (deps.env.LOCALSPACE_DEBUG && e instanceof Error && e.stack)
      deps.out.stderr.write(`${e.stack}\n`)
  }
}

/**
 * Wraps a command's action: errors are reported and make the exit code 1, and stdin is
 * released afterwards so the process can end.
 */
export function act<A extends unknown[]>(
  deps: CliDeps,
  run: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args)
    } catch (e) {
      reportError(deps, e)
      process.exitCode = 1
    } finally {
      deps.prompt.close()
    }
  }
}

export interface JsonFlag {
  json?: boolean
}

export interface AppFlags extends JsonFlag {
  app: string
}

export const withJson = (cmd: Command) => cmd.option('--json', 'output in json format')

export const withApp = (cmd: Command) =>
  cmd.requiredOption('-a, --app <app>', 'app to run command against')

/** The space named by `-s/--space` or the positional argument, as heroku accepts both. */
export function spaceName(
  cmd: Command,
  positional: string | undefined,
  flag: string | undefined,
): string {
  const name = flag ?? positional
  if (!name) cmd.error("error: missing space: pass it as an argument or with '-s, --space <space>'")
  return name
}

/**
 * Destructive commands need the name typed back: `--confirm NAME`, or a prompt at a terminal.
 * Without a terminal there is nobody to ask, so a missing --confirm refuses.
 */
export async function confirmDestruction(
  deps: CliDeps,
  what: string,
  names: readonly string[],
  confirm: string | undefined,
): Promise<void> {
  const expected = names[0]!
  let answer = confirm
  if (answer === undefined) {
    if (!deps.prompt.interactive) {
      throw new UserError(
        `This command destroys ${what} ${expected}. Re-run it with --confirm ${expected} to proceed.`,
      )
    }
    deps.out.warn(`WARNING: This will destroy ${what} ${expected}. It cannot be undone.`)
    answer = await deps.prompt.ask(
      `To proceed, type ${expected} or re-run this command with --confirm ${expected}: `,
    )
  }
  if (!names.includes(answer)) {
    throw new UserError(`Confirmation ${answer} did not match ${expected}. Aborted.`)
  }
}

/** `--interval` and `--timeout` of the wait commands, in seconds. */
export interface PollFlags {
  interval: number
  timeout: number
}

/**
 * Fetches until `waiting` says stop or the timeout passes, with a progress line on stderr
 * (`spaces:wait`, `vpn:wait`). `timedOut` completes "Timed out after Ns …".
 */
export async function pollUntil<T>(
  deps: CliDeps,
  flags: PollFlags,
  what: {
    label: string
    fetch: () => Promise<T>
    waiting: (value: T) => boolean
    timedOut: string
    outcome: (value: T) => string
  },
): Promise<T> {
  const deadline = deps.now() + flags.timeout * 1000
  const progress = deps.out.progress(what.label)
  try {
    let value = await what.fetch()
    while (what.waiting(value)) {
      if (deps.now() >= deadline) {
        throw new UserError(`Timed out after ${flags.timeout}s ${what.timedOut}.`)
      }
      await deps.sleep(Math.min(flags.interval * 1000, Math.max(0, deadline - deps.now())))
      value = await what.fetch()
    }
    progress.stop(what.outcome(value))
    return value
  } catch (e) {
    progress.stop('!')
    throw e
  }
}
