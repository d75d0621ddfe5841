/**
 * Who owns an app and who else may use it: transfers (`heroku apps:transfer`) and collaborators
 * (`heroku access`). Apps in a space stay with the space's team; a new owner starts with no
 * collaborators. A change of who may use an app emits `app.changed` after the commit (the
 * router and the logs follow the app's owner); a pending transfer changes nothing yet.
 * The caller has already checked that the asker may make the change.
 */
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import type { Account, App, AppTransfer, Team } from '../core/types.js'
import type { Store } from '../store/store.js'
import type { PlatformContext } from './context.js'

function notInSpace(app: App): void {
  if (app.spaceId !== null) {
    throw errors.invalidParams(
      `${app.name} runs in space ${app.spaceName}, which belongs to team ${app.teamName}: apps in a space stay with its team.`,
    )
  }
}

/** Gives the app to a new owner (an account, or a team with its owner kept) in one commit. */
function setOwner(
  { store, events }: PlatformContext,
  appId: string,
  ownerId: string,
  teamId: string | null,
): App {
  store.transaction(() => {
    store.apps.setOwner(appId, ownerId, teamId, nowIso())
    store.appAccess.clearForNewOwner(appId)
  })
  events.emit('app.changed', appId)
  return store.apps.find(appId)!
}

/** Into a team, at once. */
export function transferToTeam(ctx: PlatformContext, app: App, team: Team): App {
  notInSpace(app)
  if (team.id === app.teamId) {
    throw errors.invalidParams(`${app.name} already belongs to ${team.name}.`)
  }
  return setOwner(ctx, app.id, app.ownerId, team.id)
}

/** Out of a team to an account, at once; a personal app goes only by an accepted transfer. */
export function transferToAccount(ctx: PlatformContext, app: App, recipient: Account): App {
  notInSpace(app)
  if (app.teamId === null) {
    throw errors.invalidParams(
      `${app.name} is a personal app: it goes to another account by a transfer the recipient accepts (POST /account/app-transfers, what heroku apps:transfer EMAIL sends).`,
    )
  }
  return setOwner(ctx, app.id, recipient.id, null)
}

/** A personal app offered to another account; one offer per app at a time. */
export function offerTransfer(store: Store, app: App, recipient: Account): AppTransfer {
  if (recipient.id === app.ownerId) {
    throw errors.invalidParams(`${recipient.email} already owns ${app.name}.`)
  }
  const id = newId()
  store.transaction(() => {
    if (store.appAccess.transfer(app.name)) {
      throw errors.invalidParams(`${app.name} already has a transfer pending.`)
    }
    store.appAccess.insertTransfer({
      id,
      appId: app.id,
      ownerId: app.ownerId,
      recipientId: recipient.id,
      now: nowIso(),
    })
  })
  return store.appAccess.transfer(id)!
}

/** The recipient accepts (the app is theirs) or declines (the offer is gone). */
export function answerTransfer(
  ctx: PlatformContext,
  transfer: AppTransfer,
  state: string,
): AppTransfer {
  if (state !== 'accepted' && state !== 'declined') {
    throw errors.invalidParams('state must be accepted or declined.')
  }
  if (state === 'accepted') setOwner(ctx, transfer.appId, transfer.recipient.id, null)
  else ctx.store.appAccess.deleteTransfer(transfer.id)
  return { ...transfer, state, updatedAt: nowIso() }
}

/** A personal app's owner lets another account use it. */
export function addCollaborator(
  { store, events }: PlatformContext,
  app: App,
  account: Account,
): void {
  store.transaction(() => {
    if (account.id === app.ownerId) {
      throw errors.invalidParams(`${account.email} owns ${app.name}.`)
    }
    if (store.appAccess.collaborator(app.id, account.id)) {
      throw errors.invalidParams(`${account.email} is already a collaborator on ${app.name}.`)
    }
    store.appAccess.insertCollaborator({
      id: newId(),
      appId: app.id,
      accountId: account.id,
      now: nowIso(),
    })
  })
  events.emit('app.changed', app.id)
}

export function removeCollaborator(
  { store, events }: PlatformContext,
  app: App,
  account: Account,
): void {
  store.appAccess.deleteCollaborator(app.id, account.id)
  events.emit('app.changed', app.id)
}

/** The sender takes the offer back. */
export function cancelTransfer(store: Store, transfer: AppTransfer): void {
  store.appAccess.deleteTransfer(transfer.id)
}
