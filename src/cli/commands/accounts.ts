/** `accounts:create`: the installation admin makes an account (localspace's own endpoint). */
import type { Command } from 'commander'
import { act, withJson, type CliDeps, type JsonFlag } from '../context.js'
import type { CreatedAccount } from '../wire.js'

interface CreateFlags extends JsonFlag {
  password?: string
  admin?: boolean
  name?: string
}

export function registerAccountsCommands(program: Command, deps: CliDeps): void {
  withJson(program.command('accounts:create <email>'))
    .description(
      'create an account (installation admin only); prints its password and API key once',
    )
    .option('--password <password>', 'password to set (default: a generated one)')
    .option('--name <name>', 'full name')
    .option('--admin', 'make it an installation admin too')
    .action(
      act(deps, async (email: string, flags: CreateFlags) => {
        const body = {
          email,
          ...(flags.password !== undefined && { password: flags.password }),
          ...(flags.name !== undefined && { name: flags.name }),
          ...(flags.admin && { admin: true }),
        }
        const account = await deps.out.action(`Creating account ${email}`, () =>
          deps.client().post<CreatedAccount>('/localspace/accounts', body),
        )
        if (flags.json) return deps.out.json(account)
        deps.out.keyValues([
          ['Email', account.email],
          ['Password', account.password],
          ['API key', account.api_key],
        ])
        deps.out.warn('These are shown only this once; keep them somewhere safe.')
      }),
    )
}
