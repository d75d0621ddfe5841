/**
 * `heroku apps:transfer` (schemas app-transfer, team-app). An app changes hands in one of two
 * ways, as on Heroku:
 *
 * - to or from a team, at once (`PATCH /teams/apps/{app}` with `owner`): into a team its
 *   owner belongs to, or out of a team by one of its admins to an account;
 * - from one account to another, by a transfer the recipient accepts or declines
 *   (`/account/app-transfers`).
 *
 * Apps in a space stay with the space's team. A new owner starts with no collaborators.
 */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { EMAIL } from '../../core/names.js'
import { newId, nowIso } from '../../core/ids.js'
import type { Account, App } from '../../core/types.js'
import type { Store } from '../../store/store.js'
import { findApp, findTeam, roleIn } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { appTransferJson } from '../serializers.js'

function notInSpace(app: App): void {
  if (app.spaceId !== null) {
    throw errors.invalidParams(
      `${app.name} runs in space ${app.spaceName}, which belongs to team ${app.teamName}: apps in a space stay with its team.`,
    )
  }
}

/** `PATCH /teams/apps/{app}` with `owner`: a team name, or an account's email. */
export function changeOwner(
  store: Store,
  caller: Account,
  appIdOrName: string,
  owner: string,
): App {
  // The owner of a personal app, or an admin of the team that holds it (by role: whoever
  // made a team app has no say over it as such).
  const app = findApp(store, caller, appIdOrName, { admin: true })
  if (app.teamId !== null && roleIn(store, caller, app.teamId) !== 'admin') {
    throw errors.notTeamAdmin()
  }
  notInSpace(app)
  const now = nowIso()
  if (!EMAIL.test(owner)) {
    const team = findTeam(store, caller, owner) // a member of the team it goes to
    if (team.id === app.teamId)
      throw errors.invalidParams(`${app.name} already belongs to ${team.name}.`)
    store.transaction(() => {
      store.apps.setOwner(app.id, app.ownerId, team.id, now)
      store.appAccess.clearForNewOwner(app.id)
    })
    return store.apps.find(app.id)!
  }
  if (app.teamId === null) {
    throw errors.invalidParams(
      `${app.name} is a personal app: it goes to another account by a transfer the recipient accepts (POST /account/app-transfers, what heroku apps:transfer EMAIL sends).`,
    )
  }
  const recipient = store.accounts.find(owner)
  if (!recipient) throw errors.notFound('account', `Couldn't find an account with email ${owner}.`)
  store.transaction(() => {
    store.apps.setOwner(app.id, recipient.id, null, now)
    store.appAccess.clearForNewOwner(app.id)
  })
  return store.apps.find(app.id)!
}

const createBody = {
  type: 'object',
  required: ['app', 'recipient'],
  properties: {
    app: { type: 'string' },
    recipient: { type: 'string', maxLength: 254 },
    silent: { type: 'boolean' },
  },
} as const

const updateBody = {
  type: 'object',
  required: ['state'],
  properties: { state: { type: 'string' } },
} as const

export function appTransferRoutes(app: FastifyInstance): void {
  const { store, events } = app.ctx

  /** A transfer the caller sent or received; others cannot see it. */
  const findTransfer = (caller: Account, idOrAppName: string) => {
    const t = store.appAccess.transfer(idOrAppName)
    const involved = t && (caller.isAdmin || [t.owner.id, t.recipient.id].includes(caller.id))
    if (!t || !involved) throw errors.notFound('app-transfer')
    return t
  }

  app.get('/account/app-transfers', async (request, reply) =>
    sendList(request, reply, store.appAccess.transfersOf(request.account.id).map(appTransferJson), [
      'id',
    ]),
  )

  app.get<{ Params: { transfer: string } }>('/account/app-transfers/:transfer', async (request) =>
    appTransferJson(findTransfer(request.account, request.params.transfer)),
  )

  app.post<{ Body: { app: string; recipient: string } }>(
    '/account/app-transfers',
    { schema: { body: createBody } },
    async (request, reply) => {
      const target = findApp(store, request.account, request.body.app, { admin: true })
      if (target.teamId !== null) {
        // Out of a team: at once, by a team admin (the CLI sends this, not the PATCH, for team
        // apps whose owner is not Heroku's team placeholder account).
        const previous = store.accounts.find(target.ownerId)!
        const moved = changeOwner(store, request.account, target.id, request.body.recipient)
        events.emit('app.changed', moved.id)
        const now = nowIso()
        return reply.code(201).send(
          appTransferJson({
            id: newId(),
            appId: moved.id,
            appName: moved.name,
            owner: previous,
            recipient: store.accounts.find(moved.ownerId)!,
            state: 'accepted',
            createdAt: now,
            updatedAt: now,
          }),
        )
      }
      const recipient = store.accounts.find(request.body.recipient)
      if (!recipient) {
        throw errors.notFound(
          'account',
          `Couldn't find an account with email ${request.body.recipient}.`,
        )
      }
      if (recipient.id === target.ownerId) {
        throw errors.invalidParams(`${recipient.email} already owns ${target.name}.`)
      }
      const id = newId()
      store.transaction(() => {
        if (store.appAccess.transfer(target.name)) {
          throw errors.invalidParams(`${target.name} already has a transfer pending.`)
        }
        store.appAccess.insertTransfer({
          id,
          appId: target.id,
          ownerId: target.ownerId,
          recipientId: recipient.id,
          now: nowIso(),
        })
      })
      return reply.code(201).send(appTransferJson(store.appAccess.transfer(id)!))
    },
  )

  // The recipient accepts (the app is theirs) or declines (the transfer is gone).
  app.patch<{ Params: { transfer: string }; Body: { state: string } }>(
    '/account/app-transfers/:transfer',
    { schema: { body: updateBody } },
    async (request) => {
      const t = findTransfer(request.account, request.params.transfer)
      if (t.recipient.id !== request.account.id) {
        throw errors.forbidden(`Only ${t.recipient.email} can accept or decline this transfer.`)
      }
      const { state } = request.body
      if (state !== 'accepted' && state !== 'declined') {
        throw errors.invalidParams('state must be accepted or declined.')
      }
      store.transaction(() => {
        if (state === 'accepted') {
          store.apps.setOwner(t.appId, t.recipient.id, null, nowIso())
          store.appAccess.clearForNewOwner(t.appId)
        } else store.appAccess.deleteTransfer(t.id)
      })
      events.emit('app.changed', t.appId)
      return appTransferJson({ ...t, state, updatedAt: nowIso() })
    },
  )

  // The sender takes it back.
  app.delete<{ Params: { transfer: string } }>(
    '/account/app-transfers/:transfer',
    async (request) => {
      const t = findTransfer(request.account, request.params.transfer)
      if (t.owner.id !== request.account.id && !request.account.isAdmin) {
        throw errors.forbidden(`Only ${t.owner.email} can cancel this transfer.`)
      }
      store.appAccess.deleteTransfer(t.id)
      return appTransferJson(t)
    },
  )
}
