/**
 * Which add-ons and attachments a caller may see, and Heroku's ways of naming them. An add-on
 * is visible to whoever sees its owning app or an app it is attached to (api/access.ts rules);
 * others get a 404 with Heroku's `resource` (`add_on`, `add_on attachment`), which the CLI's
 * resolvers read to try the next way of finding it.
 */
import type { Addon, AddonAttachment } from '../core/addons.js'
import { errors } from '../core/errors.js'
import type { Account, App } from '../core/types.js'
import type { Store } from '../store/store.js'

export const addonNotFound = () => errors.notFound('add_on', "Couldn't find that add-on.")
export const attachmentNotFound = () =>
  errors.notFound('add_on attachment', "Couldn't find that add-on attachment.")

/** The ids of the apps the caller sees; undefined: every app (the installation admin). */
export function visibleApps(store: Store, account: Account): Set<string> | undefined {
  if (account.isAdmin) return undefined
  return new Set(store.apps.visibleTo(account.id).map((a) => a.id))
}

const sees = (apps: Set<string> | undefined, appId: string) => !apps || apps.has(appId)

export function canSeeAddon(store: Store, apps: Set<string> | undefined, addon: Addon): boolean {
  return (
    sees(apps, addon.appId) ||
    store.addons.attachmentsOfAddon(addon.id).some((t) => sees(apps, t.appId))
  )
}

/** By id or globally unique name. */
export function findAddon(store: Store, account: Account, idOrName: string): Addon {
  const addon = store.addons.live(idOrName)
  if (!addon || !canSeeAddon(store, visibleApps(store, account), addon)) throw addonNotFound()
  return addon
}

/** Add-ons an app owns or has attached, oldest first. */
export function addonsOfApp(store: Store, app: App): Addon[] {
  const owned = store.addons.forApp(app.id)
  const seen = new Set(owned.map((a) => a.id))
  for (const t of store.addons.attachmentsOfApp(app.id)) {
    if (seen.has(t.addonId)) continue
    const addon = store.addons.live(t.addonId)
    if (addon) owned.push(addon)
    seen.add(t.addonId)
  }
  return owned
}

/** Strips `_URL`: `DATABASE_URL` names the attachment DATABASE, as the CLI allows. */
const attachmentName = (s: string) => s.replace(/_URL$/, '')

/**
 * Heroku's add-on identifiers in an app's context: the add-on's id or name, or the name of
 * one of the app's attachments (`DATABASE`, `DATABASE_URL`).
 */
export function matchAppAddons(store: Store, app: App, ident: string): Addon[] {
  return addonsOfApp(store, app).filter(
    (a) =>
      a.id === ident ||
      a.name === ident ||
      store.addons
        .attachmentsOfApp(app.id)
        .some((t) => t.addonId === a.id && (t.name === ident || t.name === attachmentName(ident))),
  )
}

/** An app's attachments an identifier names: its id, its name, or its add-on's name or id. */
export function matchAppAttachments(store: Store, app: App, ident: string): AddonAttachment[] {
  return store.addons.attachmentsOfApp(app.id).filter((t) => {
    if (t.id === ident || t.name === ident || t.name === attachmentName(ident)) return true
    const addon = store.addons.live(t.addonId)
    return addon !== undefined && (addon.name === ident || addon.id === ident)
  })
}

export function findAttachment(store: Store, account: Account, id: string): AddonAttachment {
  const t = store.addons.attachment(id)
  const apps = visibleApps(store, account)
  if (!t || !sees(apps, t.appId) || !store.addons.live(t.addonId)) throw attachmentNotFound()
  return t
}
