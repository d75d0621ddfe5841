/**
 * Teams and their members. Team admins manage members and the team's spaces; the rules of
 * membership are src/platform/teams.ts's.
 */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { createTeam, removeMember, setMember } from '../../platform/teams.js'
import { findTeam, roleIn } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { teamJson, teamMemberJson } from '../serializers.js'

const memberBody = {
  type: 'object',
  required: ['email'],
  properties: {
    email: { type: 'string' },
    role: { type: 'string' },
    federated: { type: 'boolean' },
  },
} as const

export function teamRoutes(app: FastifyInstance): void {
  const { store } = app.ctx

  app.get('/teams', async (request, reply) => {
    const teams = request.account.isAdmin
      ? store.teams.all().map((t) => teamJson(t, 'admin'))
      : store.teams.forAccount(request.account.id).map((t) => teamJson(t, t.role))
    return sendList(request, reply, teams)
  })

  app.get<{ Params: { team: string } }>('/teams/:team', async (request) => {
    const team = findTeam(store, request.account, request.params.team)
    return teamJson(team, roleIn(store, request.account, team.id) ?? null)
  })

  app.post<{ Body: { name: string } }>(
    '/teams',
    {
      schema: {
        body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
      },
    },
    async (request, reply) => {
      const team = createTeam(store, request.account, request.body.name)
      return reply.code(201).send(teamJson(team, 'admin'))
    },
  )

  // Team features (the CLI asks before `members` and `access:add`): none here, so members are
  // added directly (no invitations) and team app access follows team roles.
  app.get<{ Params: { team: string } }>('/teams/:team/features', async (request, reply) => {
    findTeam(store, request.account, request.params.team)
    return sendList(request, reply, [])
  })
  app.get<{ Params: { team: string; feature: string } }>(
    '/teams/:team/features/:feature',
    async (request) => {
      findTeam(store, request.account, request.params.team)
      throw errors.notFound('feature', "Couldn't find that feature: localspace teams have none.")
    },
  )

  app.get<{ Params: { team: string } }>('/teams/:team/members', async (request, reply) => {
    const team = findTeam(store, request.account, request.params.team)
    return sendList(request, reply, store.teams.members(team.id).map(teamMemberJson), ['email'])
  })

  // PUT creates or updates a membership; POST (create) and PATCH (update) are the schema's
  // other spellings of the same operation.
  for (const method of ['PUT', 'POST', 'PATCH'] as const) {
    app.route<{ Params: { team: string }; Body: { email: string; role?: string } }>({
      method,
      url: '/teams/:team/members',
      schema: { body: memberBody },
      handler: async (request) => {
        const team = findTeam(store, request.account, request.params.team, { admin: true })
        const account = store.accounts.find(request.body.email)
        if (!account)
          throw errors.notFound(
            'account',
            `Couldn't find an account with email ${request.body.email}.`,
          )
        return teamMemberJson(setMember(store, team, account, request.body.role))
      },
    })
  }

  app.delete<{ Params: { team: string; member: string } }>(
    '/teams/:team/members/:member',
    async (request) => {
      const team = findTeam(store, request.account, request.params.team, { admin: true })
      const account = store.accounts.find(request.params.member)
      const member = account && store.teams.member(team.id, account.id)
      if (!member) throw errors.notFound('team member')
      removeMember(store, team, member)
      return teamMemberJson(member)
    },
  )
}
