/**
 * Teams and their members. A team always keeps an admin; its creator is the first. Membership
 * decides who may use the team's apps and spaces (api/access.ts reads it on every request), so
 * nothing on the host follows it and no event is emitted.
 */
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import { TEAM_NAME } from '../core/names.js'
import type { Account, Team, TeamMember, TeamRole } from '../core/types.js'
import type { Store } from '../store/store.js'

/**
 * localspace teams have Heroku's two main roles; `viewer`, `collaborator` and `owner` (which
 * restrict or extend what a member may do per app) are refused rather than quietly widened.
 */
function teamRoleOf(role: string | undefined): TeamRole {
  if (role === undefined || role === 'member') return 'member'
  if (role === 'admin') return 'admin'
  throw errors.invalidParams(
    `Role ${JSON.stringify(role)} is not available: localspace teams have two roles, admin (manages members, spaces and every app) and member (uses the team's apps).`,
  )
}

const keepAnAdmin = () => errors.invalidParams('A team must keep at least one admin.')

/** A new team, administered by its creator. */
export function createTeam(store: Store, creator: Account, name: string): Team {
  if (!TEAM_NAME.test(name)) {
    throw errors.invalidParams(
      'Name must start with a letter, end with a letter or digit, and contain only lowercase letters, digits and dashes (3 to 30 characters).',
    )
  }
  const now = nowIso()
  const team = { id: newId(), name, createdAt: now, updatedAt: now }
  store.transaction(() => {
    if (store.teams.find(name)) throw errors.invalidParams('Name is already taken.')
    store.teams.insert(team)
    store.teams.upsertMember(team.id, creator.id, 'admin', now)
  })
  return team
}

/** Adds a member or changes their role (`member` when none is given). */
export function setMember(
  store: Store,
  team: Team,
  account: Account,
  role: string | undefined,
): TeamMember {
  const wanted = teamRoleOf(role)
  store.transaction(() => {
    const current = store.teams.roleOf(team.id, account.id)
    if (current === 'admin' && wanted !== 'admin' && store.teams.adminCount(team.id) === 1) {
      throw keepAnAdmin()
    }
    store.teams.upsertMember(team.id, account.id, wanted, nowIso())
  })
  return store.teams.member(team.id, account.id)!
}

export function removeMember(store: Store, team: Team, member: TeamMember): void {
  store.transaction(() => {
    if (member.role === 'admin' && store.teams.adminCount(team.id) === 1) throw keepAnAdmin()
    store.teams.removeMember(team.id, member.account.id)
  })
}
