/**
 * Add-on attachments: an app gets an add-on's URL as the config var `<NAME>_URL`, and each
 * attach or detach is a release (`Attach DATABASE (@ref:postgresql-curly-12345)`), made by the
 * release code as a config change is, so the app's dynos restart onto it. (Network
 * attachments of dynos are platform/attachments.ts.)
 */
import { ATTACHMENT_COLOURS, findService, type AddonService } from '../core/addon-catalogue.js'
import {
  attachmentConfigVar,
  connectionUrl,
  type Addon,
  type AddonAttachment,
} from '../core/addons.js'
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import type { App, Release } from '../core/types.js'
import type { Store } from '../store/store.js'
import type { Actor, PlatformContext } from './context.js'
import { commitConfigPatch, currentConfig, released } from './releases.js'

/** Heroku's rule for attachment names: they become config var names. */
const ATTACHMENT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/

export interface AttachOptions {
  /** `--as NAME`; default DATABASE / REDIS, then HEROKU_POSTGRESQL_<COLOUR> … */
  name?: string | undefined
  /** `credential:NAME`; only the default credential (null) exists here. */
  namespace?: string | null | undefined
  /** The app's name: replace an attachment or config var of that name. */
  confirm?: string | undefined
}

export const serviceOf = (addon: Addon): AddonService => findService(addon.serviceName)!

export const addonUrl = (addon: Addon): string => connectionUrl(serviceOf(addon).kind, addon)

const ref = (attachment: string, addon: Addon) => `${attachment} (@ref:${addon.name})`

/** DATABASE for the app's first Postgres, else HEROKU_POSTGRESQL_<COLOUR> unused on the app. */
function defaultName(store: Store, app: App, service: AddonService): string {
  const taken = new Set(store.addons.attachmentsOfApp(app.id).map((t) => t.name))
  const config = currentConfig(store, app.id)
  const free = (name: string) => !taken.has(name) && !(attachmentConfigVar(name) in config)
  if (free(service.defaultAttachment)) return service.defaultAttachment
  const colours = ATTACHMENT_COLOURS.filter((c) => free(`${service.colourPrefix}_${c}`))
  if (colours.length === 0) {
    throw errors.invalidParams(`${app.name} has no attachment name left: name it with --as.`)
  }
  return `${service.colourPrefix}_${colours[Math.floor(Math.random() * colours.length)]}`
}

/**
 * In a transaction: attaches `addon` to `app` and makes the release that sets its URL. A name
 * the app already uses (an attachment, or a config var `<NAME>_URL`) needs `confirm` = the
 * app's name, as on Heroku; the old attachment is then replaced in the same release.
 */
export function commitAttachment(
  store: Store,
  addon: Addon,
  app: App,
  userId: string,
  options: AttachOptions,
): { attachment: AddonAttachment; release: Release | undefined } {
  if (options.namespace) {
    throw errors.invalidParams(
      `Only the default credential exists for ${addon.name}: attach it without --credential.`,
    )
  }
  if (app.spaceId !== addon.spaceId) {
    throw errors.invalidParams(
      `${addon.name} lives in the data network of another space: only apps in its space can reach it.`,
    )
  }
  if (addon.state === 'failed') {
    throw errors.invalidParams(`${addon.name} failed to provision: destroy it and create another.`)
  }
  const name = options.name ?? defaultName(store, app, serviceOf(addon))
  if (!ATTACHMENT_NAME.test(name)) {
    throw errors.invalidParams(
      'Name must start with a letter and contain only letters, digits and underscores (at most 63).',
    )
  }
  const configVar = attachmentConfigVar(name)
  const existing = store.addons.attachmentsOfApp(app.id).find((t) => t.name === name)
  if (existing?.addonId === addon.id) {
    throw errors.invalidParams(`${addon.name} is already attached to ${app.name} as ${name}.`)
  }
  const clash = existing ?? (configVar in currentConfig(store, app.id) ? configVar : undefined)
  if (clash && options.confirm !== app.name) {
    throw errors.confirmationRequired(
      existing
        ? `This action will replace the attachment ${name} of ${app.name}. To proceed, type ${app.name} or re-run with --confirm ${app.name}.`
        : `This action will overwrite the config var ${configVar} of ${app.name}. To proceed, type ${app.name} or re-run with --confirm ${app.name}.`,
    )
  }
  if (existing) store.addons.deleteAttachment(existing.id)
  const now = nowIso()
  const attachment: AddonAttachment = {
    id: newId(),
    addonId: addon.id,
    appId: app.id,
    appName: app.name,
    name,
    namespace: null,
    createdAt: now,
    updatedAt: now,
  }
  store.addons.insertAttachment(attachment)
  const { release } = commitConfigPatch(
    store,
    app,
    userId,
    { [configVar]: addonUrl(addon) },
    `Attach ${ref(name, addon)}`,
  )
  return { attachment, release }
}

/** In a transaction: removes an attachment and its config var, in a `Detach …` release. */
export function commitDetachment(
  store: Store,
  attachment: AddonAttachment,
  addon: Addon,
  userId: string,
): Release | undefined {
  const app = store.apps.find(attachment.appId)!
  store.addons.deleteAttachment(attachment.id)
  const configVar = attachmentConfigVar(attachment.name)
  return commitConfigPatch(
    store,
    app,
    userId,
    { [configVar]: null },
    `Detach ${ref(attachment.name, addon)}`,
  ).release
}

/** `addons:attach ADDON -a APP [--as NAME]` */
export function attachAddon(
  ctx: PlatformContext,
  addon: Addon,
  app: App,
  actor: Actor,
  options: AttachOptions,
): AddonAttachment {
  const result = ctx.store.transaction(() =>
    commitAttachment(ctx.store, addon, app, actor.id, options),
  )
  if (result.release) released(ctx, app.id, result.release, actor.email)
  return result.attachment
}

/** `addons:detach NAME -a APP`: the add-on stays, the app loses its config var. */
export function detachAddon(
  ctx: PlatformContext,
  attachment: AddonAttachment,
  addon: Addon,
  actor: Actor,
): Release | undefined {
  const release = ctx.store.transaction(() =>
    commitDetachment(ctx.store, attachment, addon, actor.id),
  )
  if (release) released(ctx, attachment.appId, release, actor.email)
  return release
}
