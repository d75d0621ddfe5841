/**
 * Add-ons (schemas `addon-service`, `plan`, `add-on`, `add-on-attachment`): the catalogue,
 * creating, listing, renaming and destroying add-ons, attaching and detaching them, and the two
 * resolve actions the CLI finds them with. Changes go through src/platform/addons.ts and
 * addon-attachments.ts. Roles: whoever may change an app's config may create, attach and
 * detach its add-ons (an attachment is a config change); destroying one, which loses its data,
 * takes what destroying the app does (a team admin or the app's creator, api/access.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import {
  ADDON_SERVICES,
  findPlan,
  findService,
  plansOf,
  type AddonService,
} from '../../core/addon-catalogue.js'
import type { Addon, AddonAttachment } from '../../core/addons.js'
import { errors } from '../../core/errors.js'
import type { Account, App } from '../../core/types.js'
import { attachAddon, detachAddon } from '../../platform/addon-attachments.js'
import { createAddon, destroyAddon, updateAddon } from '../../platform/addons.js'
import type { Store } from '../../store/store.js'
import {
  addonNotFound,
  addonsOfApp,
  attachmentNotFound,
  canSeeAddon,
  findAddon,
  findAttachment,
  matchAppAddons,
  matchAppAttachments,
  visibleApps,
} from '../addon-access.js'
import { addonJson, addonServiceJson, attachmentJson, planJson, shapeOf } from '../addons-json.js'
import { findApp } from '../access.js'
import { sendList } from '../plugins/pagination.js'

/** `"name"` or `{ "id": … }` / `{ "name": … }`, as Heroku's identities are sent. */
type Identity = string | { id?: string; name?: string }
const IDENTITY = {
  anyOf: [
    { type: 'string', maxLength: 256 },
    {
      type: 'object',
      properties: {
        id: { type: 'string', maxLength: 256 },
        name: { type: 'string', maxLength: 256 },
      },
    },
  ],
}
const STRING = { type: 'string', maxLength: 256 }
const NULLABLE_STRING = { type: ['string', 'null'], maxLength: 256 }

function identityText(x: Identity | undefined, what: string): string {
  const text = typeof x === 'string' ? x : (x?.id ?? x?.name)
  if (!text) throw errors.invalidParams(`${what} is required.`)
  return text
}

function findService404(idOrName: string) {
  const service = findService(idOrName)
  if (!service) throw errors.notFound('add_on service', "Couldn't find that add-on service.")
  return service
}

function findPlan404(idOrName: string, service?: AddonService) {
  const plan = findPlan(idOrName, service)
  if (!plan) throw errors.notFound('plan', "Couldn't find that plan.")
  return plan
}

/** The one add-on an identifier names in an app's context, or Heroku's errors. */
function singleAppAddon(store: Store, app: App, ident: string): Addon {
  const matches = matchAppAddons(store, app, ident)
  if (matches.length === 0) throw addonNotFound()
  if (matches.length > 1) throw ambiguous(matches.map((a) => a.name))
  return matches[0]!
}

const ambiguous = (names: string[]) =>
  errors.invalidParams(
    `Ambiguous identifier; multiple matching add-ons found: ${names.join(', ')}.`,
  )

/** `app::NAME` → the app (which the caller must see) and the name. */
function splitScoped(store: Store, account: Account, ident: string) {
  const at = ident.indexOf('::')
  if (at < 0) return undefined
  return { app: findApp(store, account, ident.slice(0, at)), name: ident.slice(at + 2) }
}

/** `--follow X`: `app::ATTACHMENT`, an attachment or config var of the app, or an add-on. */
function resolveLeader(store: Store, account: Account, app: App, ident: string): Addon {
  const scoped = splitScoped(store, account, ident)
  if (scoped) return singleAppAddon(store, scoped.app, scoped.name)
  const own = matchAppAddons(store, app, ident)
  if (own.length === 1) return own[0]!
  return findAddon(store, account, ident)
}

const byService = (service: string | undefined) => (a: Addon) =>
  !service || a.serviceName === service || findService(service)?.name === a.serviceName

export function addonRoutes(app: FastifyInstance): void {
  const { store } = app.ctx

  const json = (request: FastifyRequest, a: Addon) => addonJson(store, a, shapeOf(request))
  const attJson = (request: FastifyRequest, t: AddonAttachment) =>
    attachmentJson(t, store.addons.live(t.addonId)!, shapeOf(request))

  // --- The catalogue -----------------------------------------------------------------------

  app.get('/addon-services', async (request, reply) =>
    sendList(request, reply, ADDON_SERVICES.map(addonServiceJson)),
  )
  app.get<{ Params: { service: string } }>('/addon-services/:service', async (request) =>
    addonServiceJson(findService404(request.params.service)),
  )
  app.get<{ Params: { service: string } }>(
    '/addon-services/:service/plans',
    async (request, reply) =>
      sendList(request, reply, plansOf(findService404(request.params.service)).map(planJson)),
  )
  app.get<{ Params: { service: string; plan: string } }>(
    '/addon-services/:service/plans/:plan',
    async (request) => {
      const service = findService404(request.params.service)
      return planJson(findPlan404(request.params.plan, service))
    },
  )
  app.get<{ Params: { plan: string } }>('/plans/:plan', async (request) =>
    planJson(findPlan404(request.params.plan)),
  )

  // --- Add-ons -----------------------------------------------------------------------------

  app.post<{
    Params: { app: string }
    Body: {
      plan: Identity
      name?: string
      attachment?: { name?: string | null }
      config?: Record<string, string | boolean>
      confirm?: string | null
    }
  }>(
    '/apps/:app/addons',
    {
      schema: {
        body: {
          type: 'object',
          required: ['plan'],
          properties: {
            plan: IDENTITY,
            name: STRING,
            attachment: { type: 'object', properties: { name: NULLABLE_STRING } },
            config: {
              type: 'object',
              maxProperties: 20,
              additionalProperties: { type: ['string', 'boolean'], maxLength: 1024 },
            },
            confirm: NULLABLE_STRING,
          },
        },
      },
    },
    async (request, reply) => {
      const target = findApp(store, request.account, request.params.app)
      const { body } = request
      const follow = body.config?.follow
      const leader =
        typeof follow === 'string' && follow !== ''
          ? resolveLeader(store, request.account, target, follow)
          : undefined
      const { addon } = createAddon(app.ctx, target, request.account, {
        plan: identityText(body.plan, 'plan'),
        name: body.name,
        attachment: {
          name: body.attachment?.name ?? undefined,
          confirm: body.confirm ?? undefined,
        },
        config: body.config,
        leader,
      })
      return reply.code(201).send(json(request, addon))
    },
  )

  app.get<{ Params: { app: string } }>('/apps/:app/addons', async (request, reply) => {
    const target = findApp(store, request.account, request.params.app)
    const all = addonsOfApp(store, target).map((a) => json(request, a))
    return sendList(request, reply, all)
  })

  app.get<{ Params: { app: string; addon: string } }>(
    '/apps/:app/addons/:addon',
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      return json(request, singleAppAddon(store, target, request.params.addon))
    },
  )

  app.patch<{ Params: { app: string; addon: string }; Body: { plan?: Identity; name?: string } }>(
    '/apps/:app/addons/:addon',
    {
      schema: {
        body: { type: 'object', properties: { plan: IDENTITY, name: STRING } },
      },
    },
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const addon = singleAppAddon(store, target, request.params.addon)
      if (addon.appId !== target.id) throw notOwner(addon)
      const { plan, name } = request.body
      const updated = updateAddon(app.ctx, addon, {
        plan: plan === undefined ? undefined : identityText(plan, 'plan'),
        name,
      })
      return json(request, updated)
    },
  )

  app.delete<{ Params: { app: string; addon: string } }>(
    '/apps/:app/addons/:addon',
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const addon = singleAppAddon(store, target, request.params.addon)
      if (addon.appId !== target.id) throw notOwner(addon)
      findApp(store, request.account, target.id, { admin: true })
      return json(request, destroyAddon(app.ctx, addon, request.account))
    },
  )

  app.get('/addons', async (request, reply) => {
    const apps = visibleApps(store, request.account)
    const all = store.addons
      .all()
      .filter((a) => a.state !== 'deprovisioning' && canSeeAddon(store, apps, a))
      .map((a) => json(request, a))
    return sendList(request, reply, all)
  })

  app.get<{ Params: { addon: string } }>('/addons/:addon', async (request) =>
    json(request, findAddon(store, request.account, request.params.addon)),
  )

  app.post<{ Body: { addon: string; app?: string | null; addon_service?: string | null } }>(
    '/actions/addons/resolve',
    {
      schema: {
        body: {
          type: 'object',
          required: ['addon'],
          properties: { addon: STRING, app: NULLABLE_STRING, addon_service: NULLABLE_STRING },
        },
      },
    },
    async (request) => {
      const { addon: ident, app: appName, addon_service } = request.body
      const found = new Map<string, Addon>()
      const scoped = splitScoped(store, request.account, ident)
      if (scoped) {
        for (const a of matchAppAddons(store, scoped.app, scoped.name)) found.set(a.id, a)
      } else {
        const global = store.addons.live(ident)
        if (global && canSeeAddon(store, visibleApps(store, request.account), global)) {
          found.set(global.id, global)
        }
        if (appName) {
          const target = findApp(store, request.account, appName)
          for (const a of matchAppAddons(store, target, ident)) found.set(a.id, a)
        }
      }
      const matches = [...found.values()].filter(byService(addon_service ?? undefined))
      if (matches.length === 0) throw addonNotFound()
      return matches.map((a) => json(request, a))
    },
  )

  // --- Attachments -------------------------------------------------------------------------

  app.get('/addon-attachments', async (request, reply) => {
    const apps = visibleApps(store, request.account)
    const targets = apps ? [...apps] : store.apps.all().map((a) => a.id)
    const all = targets
      .flatMap((id) => store.addons.attachmentsOfApp(id))
      .filter((t) => store.addons.live(t.addonId))
      .map((t) => attJson(request, t))
    return sendList(request, reply, all)
  })

  app.get<{ Params: { app: string } }>('/apps/:app/addon-attachments', async (request, reply) => {
    const target = findApp(store, request.account, request.params.app)
    const all = store.addons
      .attachmentsOfApp(target.id)
      .filter((t) => store.addons.live(t.addonId))
      .map((t) => attJson(request, t))
    return sendList(request, reply, all)
  })

  app.get<{ Params: { app: string; attachment: string } }>(
    '/apps/:app/addon-attachments/:attachment',
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const matches = matchAppAttachments(store, target, request.params.attachment).filter((t) =>
        store.addons.live(t.addonId),
      )
      if (matches.length !== 1) throw attachmentNotFound()
      return attJson(request, matches[0]!)
    },
  )

  app.get<{ Params: { addon: string } }>(
    '/addons/:addon/addon-attachments',
    async (request, reply) => {
      const addon = findAddon(store, request.account, request.params.addon)
      const apps = visibleApps(store, request.account)
      const all = store.addons
        .attachmentsOfAddon(addon.id)
        .filter((t) => !apps || apps.has(t.appId))
        .map((t) => attJson(request, t))
      return sendList(request, reply, all)
    },
  )

  app.get<{ Params: { attachment: string } }>('/addon-attachments/:attachment', async (request) =>
    attJson(request, findAttachment(store, request.account, request.params.attachment)),
  )

  app.post<{
    Body: {
      addon: Identity
      app: Identity
      name?: string | null
      namespace?: string | null
      confirm?: string | null
    }
  }>(
    '/addon-attachments',
    {
      schema: {
        body: {
          type: 'object',
          required: ['addon', 'app'],
          properties: {
            addon: IDENTITY,
            app: IDENTITY,
            name: NULLABLE_STRING,
            namespace: NULLABLE_STRING,
            confirm: NULLABLE_STRING,
          },
        },
      },
    },
    async (request, reply) => {
      const { body } = request
      const addon = findAddon(store, request.account, identityText(body.addon, 'addon'))
      const target = findApp(store, request.account, identityText(body.app, 'app'))
      const attachment = attachAddon(app.ctx, addon, target, request.account, {
        name: body.name ?? undefined,
        namespace: body.namespace,
        confirm: body.confirm ?? undefined,
      })
      return reply.code(201).send(attJson(request, attachment))
    },
  )

  app.delete<{ Params: { attachment: string } }>(
    '/addon-attachments/:attachment',
    async (request) => {
      const attachment = findAttachment(store, request.account, request.params.attachment)
      const addon = store.addons.live(attachment.addonId)!
      const answer = attJson(request, attachment)
      detachAddon(app.ctx, attachment, addon, request.account)
      return answer
    },
  )

  app.post<{
    Body: { addon_attachment: string; app?: string | null; addon_service?: string | null }
  }>(
    '/actions/addon-attachments/resolve',
    {
      schema: {
        body: {
          type: 'object',
          required: ['addon_attachment'],
          properties: {
            addon_attachment: STRING,
            app: NULLABLE_STRING,
            addon_service: NULLABLE_STRING,
          },
        },
      },
    },
    async (request) => {
      const { addon_attachment: ident, app: appName, addon_service } = request.body
      const scoped = splitScoped(store, request.account, ident)
      let matches: AddonAttachment[]
      if (scoped) matches = matchAppAttachments(store, scoped.app, scoped.name)
      else if (appName)
        matches = matchAppAttachments(store, findApp(store, request.account, appName), ident)
      else {
        const apps = visibleApps(store, request.account)
        const byId = store.addons.attachment(ident)
        const addon = store.addons.live(ident)
        matches = [
          ...(byId ? [byId] : []),
          ...(addon ? store.addons.attachmentsOfAddon(addon.id) : []),
        ].filter((t) => !apps || apps.has(t.appId))
      }
      const service = byService(addon_service ?? undefined)
      const live = matches.filter((t) => {
        const addon = store.addons.live(t.addonId)
        return addon !== undefined && service(addon)
      })
      if (live.length === 0) throw attachmentNotFound()
      return live.map((t) => attJson(request, t))
    },
  )
}

const notOwner = (addon: Addon) =>
  errors.invalidParams(
    `${addon.name} belongs to ${addon.appName}: change or destroy it there, or detach it from this app.`,
  )
