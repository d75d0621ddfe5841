/**
 * Who may see and change what. Resources a caller cannot see answer 404 (their existence
 * is not revealed); visible resources the caller may not change answer 403 `forbidden`.
 * The installation admin (the account made on first start) is an admin of every team.
 */
import { errors } from '../core/errors.js'
import type { Account, App, Space, Team, TeamRole } from '../core/types.js'
import type { Store } from '../store/store.js'

export function roleIn(store: Store, account: Account, teamId: string): TeamRole | undefined {
  if (account.isAdmin) return 'admin'
  return store.teams.roleOf(teamId, account.id)
}

export function findTeam(
  store: Store,
  account: Account,
  idOrName: string,
  { admin = false } = {},
): Team {
  const team = store.teams.find(idOrName)
  const role = team && roleIn(store, account, team.id)
  if (!team || !role) throw errors.notFound('team')
  if (admin && role !== 'admin') throw errors.notTeamAdmin()
  return team
}

export function findSpace(
  store: Store,
  account: Account,
  idOrName: string,
  { admin = false } = {},
): Space {
  const space = store.spaces.find(idOrName)
  const role = space && roleIn(store, account, space.teamId)
  if (!space || !role) throw errors.notFound('space')
  if (admin && role !== 'admin') throw errors.notTeamAdmin()
  return space
}

/**
 * Apps. A personal app (no team) belongs to its owner and its collaborators (`heroku
 * access:add`; only the owner destroys, transfers or manages collaborators). A team app belongs to the team:
 * only a current member sees or changes it, whoever created it, so removing someone from the
 * team takes every team app away from them at once. `admin` (destroy) needs a team admin or
 * the app's creator while still a member: Heroku gives the creator of a team app the `manage`
 * permission, and removing the member takes it away.
 */
export function findApp(
  store: Store,
  account: Account,
  idOrName: string,
  { admin = false } = {},
): App {
  const app = store.apps.find(idOrName)
  if (!app) throw errors.notFound('app')
  if (account.isAdmin) return app
  if (app.teamId === null) {
    if (app.ownerId === account.id) return app
    if (!store.appAccess.collaborator(app.id, account.id)) throw errors.notFound('app')
    if (admin) throw errors.forbidden('Only the app owner can perform this action.')
    return app
  }
  const role = store.teams.roleOf(app.teamId, account.id)
  if (!role) throw errors.notFound('app')
  if (admin && role !== 'admin' && app.ownerId !== account.id) {
    throw errors.forbidden('You must be the app owner or a team admin to perform this action.')
  }
  return app
}
