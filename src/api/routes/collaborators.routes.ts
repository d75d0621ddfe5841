/**
 * `heroku access` (schemas collaborator, team-app-collaborator, team-app-permission).
 *
 * A personal app's owner lets other accounts use it: its collaborators may do everything but
 * destroy or transfer it and change who else may use it. A team app is reached by team role
 * only (admins: everything; members: everything but destroy, transfer and access), so its
 * list shows the team's members and changes to it are refused with a pointer to `members`.
 */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { stableId } from '../../core/ids.js'
import type { Account, App } from '../../core/types.js'
import { addCollaborator, removeCollaborator } from '../../platform/app-access.js'
import type { Store } from '../../store/store.js'
import { findApp } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { collaboratorJson, TEAM_APP_PERMISSIONS, teamAppPermissionJson } from '../serializers.js'

const createBody = {
  type: 'object',
  required: ['user'],
  properties: {
    user: { type: 'string', maxLength: 254 },
    silent: { type: 'boolean' },
    permissions: { type: 'array', items: { type: 'string' } },
  },
} as const

/** Everyone who may use the app, as the collaborator list shows them. */
function collaboratorsOf(store: Store, app: App) {
  if (app.teamId !== null) {
    return store.teams.members(app.teamId).map((m) =>
      collaboratorJson(app, m.account, m.role, {
        id: stableId('collaborator', `${app.id}:${m.account.id}`),
        createdAt: m.createdAt,
        updatedAt: m.updatedAt,
      }),
    )
  }
  const owner = store.accounts.find(app.ownerId)!
  return [
    collaboratorJson(app, owner, 'owner', {
      id: stableId('collaborator', `${app.id}:${owner.id}`),
      createdAt: app.createdAt,
      updatedAt: app.createdAt,
    }),
    ...store.appAccess
      .collaborators(app.id)
      .map((c) => collaboratorJson(app, c.account, 'collaborator', c)),
  ]
}

/** The refusal for changes to a team app's access: team roles decide it. */
function teamAppAccess(app: App): never {
  throw errors.invalidParams(
    `Access to ${app.name} follows the roles of team ${app.teamName}: add or change members with heroku members:add EMAIL --team ${app.teamName} --role member|admin.`,
  )
}

/**
 * `heroku apps:leave` removes the caller's own collaborator entry. Only a personal app's
 * collaborator has one; the owner and a team app's members would get a bare 404, so they are
 * told what to do instead.
 */
function refuseLeaving(app: App, caller: Account): void {
  if (app.teamId !== null) {
    throw errors.invalidParams(
      `${app.name} is a team app: you use it as a member of team ${app.teamName}, so a team admin removes you from the team (heroku members:remove ${caller.email} --team ${app.teamName}).`,
    )
  }
  if (app.ownerId === caller.id) {
    throw errors.invalidParams(
      `You own ${app.name}: transfer it (heroku apps:transfer) or destroy it (heroku apps:destroy) instead.`,
    )
  }
}

/** The account a collaborator path or body names (email or id). */
function accountNamed(store: Store, emailOrId: string): Account {
  const account = store.accounts.find(emailOrId)
  if (!account)
    throw errors.notFound('account', `Couldn't find an account with email ${emailOrId}.`)
  return account
}

export function collaboratorRoutes(app: FastifyInstance): void {
  const { store } = app.ctx

  app.get('/teams/permissions', async (request, reply) =>
    sendList(request, reply, TEAM_APP_PERMISSIONS.map(teamAppPermissionJson), ['name']),
  )

  for (const prefix of ['/apps', '/teams/apps']) {
    app.get<{ Params: { app: string } }>(`${prefix}/:app/collaborators`, async (request, reply) =>
      sendList(
        request,
        reply,
        collaboratorsOf(store, findApp(store, request.account, request.params.app)),
        ['id'],
      ),
    )

    app.get<{ Params: { app: string; collaborator: string } }>(
      `${prefix}/:app/collaborators/:collaborator`,
      async (request) => {
        const target = findApp(store, request.account, request.params.app)
        const wanted = request.params.collaborator
        const found = collaboratorsOf(store, target).find(
          (c) => c.user.email === wanted || c.user.id === wanted || c.id === wanted,
        )
        if (!found) throw errors.notFound('collaborator')
        return found
      },
    )

    app.post<{ Params: { app: string }; Body: { user: string } }>(
      `${prefix}/:app/collaborators`,
      { schema: { body: createBody } },
      async (request, reply) => {
        // Only the owner (or the installation admin) says who else may use a personal app.
        const target = findApp(store, request.account, request.params.app, { admin: true })
        if (target.teamId !== null) teamAppAccess(target)
        const account = accountNamed(store, request.body.user)
        addCollaborator(app.ctx, target, account)
        const c = store.appAccess.collaborator(target.id, account.id)!
        return reply.code(201).send(collaboratorJson(target, account, 'collaborator', c))
      },
    )

    app.delete<{ Params: { app: string; collaborator: string } }>(
      `${prefix}/:app/collaborators/:collaborator`,
      async (request) => {
        const target = findApp(store, request.account, request.params.app)
        const named = request.params.collaborator
        if (named === request.account.email || named === request.account.id) {
          refuseLeaving(target, request.account)
        }
        if (target.teamId !== null) teamAppAccess(target)
        const account = accountNamed(store, named)
        const c = store.appAccess.collaborator(target.id, account.id)
        if (!c) throw errors.notFound('collaborator')
        // The owner removes anyone; a collaborator may leave (`heroku apps:leave`).
        if (account.id !== request.account.id)
          findApp(store, request.account, target.id, { admin: true })
        removeCollaborator(app.ctx, target, account)
        return collaboratorJson(target, account, 'collaborator', c)
      },
    )
  }

  app.patch<{ Params: { app: string; collaborator: string } }>(
    '/teams/apps/:app/collaborators/:collaborator',
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      if (target.teamId !== null) teamAppAccess(target)
      throw errors.invalidParams(
        `${target.name} is a personal app: its collaborators may use all of it (permissions belong to team apps, and team roles decide them here).`,
      )
    },
  )
}
