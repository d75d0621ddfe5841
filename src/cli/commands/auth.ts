/** `login`, `logout`, `auth:whoami`: an API key in the credentials file, like `heroku login -i`. */
import { hostname } from 'node:os'
import type { Command } from 'commander'
import { ApiClient } from '../client.js'
import { act, withJson, type CliDeps, type JsonFlag } from '../context.js'
import {
  apiUrlFromEnv,
  DEFAULT_API_URL,
  deleteCredentialsFile,
  readCredentialsFile,
  writeCredentialsFile,
} from '../credentials.js'
import type { Account, Authorization } from '../wire.js'

/** Thirty days, as `heroku login` asks for: a lost laptop's key stops working by itself. */
const LOGIN_EXPIRES_IN = 30 * 24 * 3600

interface LoginFlags {
  email?: string
  password?: string
  apiUrl?: string
}

export function registerAuthCommands(program: Command, deps: CliDeps): void {
  program
    .command('login')
    .alias('auth:login')
    .description('log in with email and password; stores an API key for later commands')
    .option('-e, --email <email>', 'account email (prompted for when omitted)')
    .option('-p, --password <password>', 'password (prompted for when omitted)')
    .option(
      '--api-url <url>',
      `API to log in to (default: $LOCALSPACE_API_URL, $HEROKU_HOST, ${DEFAULT_API_URL})`,
    )
    .action(act(deps, (flags: LoginFlags) => login(deps, flags)))

  program
    .command('logout')
    .alias('auth:logout')
    .description('forget the API key `localspace login` stored')
    .action(act(deps, () => logout(deps)))

  withJson(program.command('auth:whoami').alias('whoami'))
    .description('show the email of the account the CLI acts as')
    .action(
      act(deps, async (flags: JsonFlag) => {
        const account = await deps.client().get<Account>('/account')
        if (flags.json) deps.out.json(account)
        else deps.out.line(account.email)
      }),
    )
}

async function login(deps: CliDeps, flags: LoginFlags): Promise<void> {
  const url = (
    flags.apiUrl ??
    apiUrlFromEnv(deps.env) ??
    readCredentialsFile(deps.credentialsFile())?.url ??
    DEFAULT_API_URL
  ).replace(/\/+$/, '')
  const email = flags.email ?? (await deps.prompt.ask('Email: '))
  const password = flags.password ?? (await deps.prompt.askHidden('Password: '))
  const basic = Buffer.from(`${email}:${password}`).toString('base64')
  const client = new ApiClient({ url })
  const authorization = await deps.out.action(`Logging in to ${url}`, () =>
    client.post<Authorization>(
      '/oauth/authorizations',
      {
        description: `localspace CLI on ${hostname()}`,
        scope: ['global'],
        expires_in: LOGIN_EXPIRES_IN,
      },
      { headers: { Authorization: `Basic ${basic}` } },
    ),
  )
  const token = authorization.access_token?.token
  if (!token) throw new Error('The API answered the login without an access token.')
  writeCredentialsFile(deps.credentialsFile(), { url, email: authorization.user.email, token })
  deps.out.line(`Logged in as ${authorization.user.email}`)
  warnIfEnvironmentKeyWins(deps)
}

async function logout(deps: CliDeps): Promise<void> {
  const removed = deleteCredentialsFile(deps.credentialsFile())
  deps.out.line(removed ? 'Logged out.' : 'You were not logged in.')
  warnIfEnvironmentKeyWins(deps)
}

/** The environment beats the file, so say so when a key there keeps acting for the person. */
function warnIfEnvironmentKeyWins(deps: CliDeps): void {
  for (const name of ['LOCALSPACE_API_KEY', 'HEROKU_API_KEY']) {
    if (deps.env[name]) {
      deps.out.warn(
        `${name} is set: commands use that key, not the stored login, until you unset it.`,
      )
      return
    }
  }
}
