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
 * Apps: the owner and every member of the app's team may use them, and the collaborators of
 * a personal app (`heroku access:add`); `admin` = destroy, transfer, manage collaborators.
 */
export function findApp(
  store: Store,
  account: Account,
  idOrName: string,
  { admin = false } = {},
): App {
  const app = store.apps.find(idOrName)
  if (!app) throw errors.notFound('app')
  if (app.ownerId === account.id || account.isAdmin) return app
  if (app.teamId === null && store.appAccess.collaborator(app.id, account.id)) {
    if (admin) throw errors.forbidden('Only the app owner can perform this action.')
    return app
  }
  const role = app.teamId ? store.teams.roleOf(app.teamId, account.id) : undefined
  if (!role) throw errors.notFound('app')
  if (admin && role !== 'admin') {
    throw errors.forbidden('You must be the app owner or a team admin to perform this action.')
  }
  return app
}
