/**
 * Add-ons (Heroku Postgres, Redis) as heroku has them: `addons`, `addons:create SERVICE:PLAN`
 * (`--as`, `--name`, `--follow`), `addons:info`, `addons:destroy` (schema `add-on`).
 */
import type { Command } from 'commander'
import { p } from '../client.js'
import {
  act,
  confirmDestruction,
  withApp,
  withJson,
  type AppFlags,
  type CliDeps,
} from '../context.js'
import type { Addon, AddonAttachment } from '../wire.js'

/** The add-on's service and plan as whole objects, as `heroku addons` asks for them. */
const EXPAND = { headers: { 'Accept-Expansion': 'addon_service,plan' } }

/** `heroku addons` shows Heroku's states as these words. */
const STATE: Record<string, string> = {
  provisioning: 'creating',
  provisioned: 'created',
  deprovisioned: 'errored',
}

interface CreateFlags extends AppFlags {
  as?: string
  name?: string
  follow?: string
  confirm?: string
}

interface DestroyFlags extends AppFlags {
  confirm?: string
}

export function registerAddonsCommands(program: Command, deps: CliDeps): void {
  withJson(withApp(program.command('addons')))
    .description("list an app's add-ons and their attachments")
    .action(
      act(deps, async (flags: AppFlags) => {
        const addons = await deps.client().list<Addon>(p`/apps/${flags.app}/addons`, EXPAND)
        if (flags.json) return deps.out.json(addons)
        if (addons.length === 0) return deps.out.line(`No add-ons for app ${flags.app}.`)
        deps.out.table(addons, [
          { header: 'Add-on', get: (a) => `${a.addon_service.name} (${a.name})` },
          { header: 'Plan', get: (a) => a.plan.name },
          { header: 'Config vars', get: (a) => a.config_vars.join(', ') },
          { header: 'State', get: (a) => STATE[a.state] ?? a.state },
        ])
      }),
    )

  withJson(withApp(program.command('addons:create <plan>')))
    .description('create an add-on (heroku-postgresql:private-0, heroku-redis:private-7, …)')
    .option('--as <name>', 'name of its attachment: the app gets <NAME>_URL')
    .option('--name <name>', 'name of the add-on')
    .option(
      '--follow <database>',
      'a Postgres follower of this database (app::ATTACHMENT or add-on)',
    )
    .option('--confirm <app>', 'replace an attachment or config var of the same name')
    .action(
      act(deps, async (plan: string, flags: CreateFlags) => {
        const addon = await deps.out.action(`Creating ${plan} on ${flags.app}`, () =>
          deps.client().post<Addon>(p`/apps/${flags.app}/addons`, {
            plan: { name: plan },
            ...(flags.name !== undefined && { name: flags.name }),
            attachment: { name: flags.as ?? null },
            config: flags.follow !== undefined ? { follow: flags.follow } : {},
            confirm: flags.confirm ?? null,
          }),
        )
        if (flags.json) return deps.out.json(addon)
        deps.out.line(
          `${addon.name} is being created in the background as ${addon.config_vars.join(', ')}. The app will restart when complete...`,
        )
      }),
    )

  withJson(withApp(program.command('addons:info <addon>')))
    .description('show an add-on and its attachments')
    .action(
      act(deps, async (name: string, flags: AppFlags) => {
        const addon = await deps.client().get<Addon>(p`/apps/${flags.app}/addons/${name}`, EXPAND)
        const attachments = await deps
          .client()
          .list<AddonAttachment>(p`/addons/${addon.id}/addon-attachments`)
        if (flags.json) return deps.out.json({ ...addon, attachments })
        deps.out.heading(addon.name)
        deps.out.keyValues([
          ['Plan', addon.plan.name],
          ['Attachments', attachments.map((t) => `${t.app.name}::${t.name}`).join(', ')],
          ['Owning app', addon.app.name],
          ['Installed at', addon.created_at],
          ['State', STATE[addon.state] ?? addon.state],
        ])
      }),
    )

  withJson(withApp(program.command('addons:destroy <addon>')))
    .description('destroy an add-on and its data; its config vars go in a release')
    .option('--confirm <app>', 'the app’s name, to confirm')
    .action(
      act(deps, async (name: string, flags: DestroyFlags) => {
        const addon = await deps.client().get<Addon>(p`/apps/${flags.app}/addons/${name}`)
        await confirmDestruction(
          deps,
          `the add-on ${addon.name} of app`,
          [flags.app],
          flags.confirm,
        )
        const gone = await deps.out.action(`Destroying ${addon.name} on ${flags.app}`, () =>
          deps.client().delete<Addon>(p`/apps/${flags.app}/addons/${addon.id}`),
        )
        if (flags.json) deps.out.json(gone)
      }),
    )
}
