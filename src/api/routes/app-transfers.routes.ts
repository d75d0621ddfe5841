/**
 * `heroku apps:transfer` (schemas app-transfer, team-app). An app changes hands in one of two
 * ways, as on Heroku:
 *
 * - to or from a team, at once (`PATCH /teams/apps/{app}` with `owner`): into a team its
 *   owner belongs to, or out of a team by one of its admins to an account;
 * - from one account to another, by a transfer the recipient accepts or declines
 *   (`/account/app-transfers`).
 *
 * Apps in a space stay with the space's team; a new owner starts with no collaborators
 * (src/platform/app-access.ts). Here: who may ask for what.
 */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { EMAIL } from '../../core/names.js'
import { newId, nowIso } from '../../core/ids.js'
import type { Account, App } from '../../core/types.js'
import {
  answerTransfer,
  cancelTransfer,
  offerTransfer,
  transferToAccount,
  transferToTeam,
} from '../../platform/app-access.js'
import type { PlatformContext } from '../../platform/context.js'
import { findApp, findTeam, roleIn } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { appTransferJson } from '../serializers.js'

/**
 * `PATCH /teams/apps/{app}` with `owner`: a team name, or an account's email. The owner of a
 * personal app, or an admin of the team that holds it, may ask (by role: whoever made a team
 * app has no say over it as such); into a team, only one the caller is a member of.
 */
export function changeOwner(
  ctx: PlatformContext,
  caller: Account,
  appIdOrName: string,
  owner: string,
): App {
  const { store } = ctx
  const app = findApp(store, caller, appIdOrName, { admin: true })
  if (app.teamId !== null && roleIn(store, caller, app.teamId) !== 'admin') {
    throw errors.notTeamAdmin()
  }
  if (!EMAIL.test(owner)) return transferToTeam(ctx, app, findTeam(store, caller, owner))
  const recipient = store.accounts.find(owner)
  if (!recipient) throw errors.notFound('account', `Couldn't find an account with email ${owner}.`)
  return transferToAccount(ctx, app, recipient)
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
  const { store } = app.ctx

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
        const moved = changeOwner(app.ctx, request.account, target.id, request.body.recipient)
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
      return reply.code(201).send(appTransferJson(offerTransfer(store, target, recipient)))
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
      return appTransferJson(answerTransfer(app.ctx, t, request.body.state))
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
      cancelTransfer(store, t)
      return appTransferJson(t)
    },
  )
}
