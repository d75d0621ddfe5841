import type { InboundRuleset, LogDrain, Space, SpaceState, TrustedRule } from '../core/types.js'
import type { Db } from './db.js'

interface SpaceRow {
  id: string
  name: string
  team_id: string
  team_name: string
  region: string
  state: SpaceState
  shield: number
  cidr: string
  data_cidr: string
  generation: 'cedar' | 'fir'
  created_at: string
  updated_at: string
}
const toSpace = (r: SpaceRow): Space => ({
  id: r.id,
  name: r.name,
  teamId: r.team_id,
  teamName: r.team_name,
  region: r.region,
  state: r.state,
  shield: r.shield === 1,
  cidr: r.cidr,
  dataCidr: r.data_cidr,
  generation: r.generation,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

interface RulesetRow {
  id: string
  space_id: string
  version: number
  rules: string
  created_by: string
  applied: number
  created_at: string
}
const toRuleset = (r: RulesetRow): InboundRuleset => ({
  id: r.id,
  spaceId: r.space_id,
  version: r.version,
  rules: JSON.parse(r.rules) as TrustedRule[],
  createdBy: r.created_by,
  applied: r.applied === 1,
  createdAt: r.created_at,
})

const SPACE_SELECT = 'SELECT s.*, t.name team_name FROM spaces s JOIN teams t ON t.id = s.team_id'

export class SpacesRepo {
  constructor(private readonly db: Db) {}

  insert(s: Space): void {
    this.db
      .prepare(
        `INSERT INTO spaces (id, name, team_id, region, state, shield, cidr, data_cidr, generation, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        s.id,
        s.name,
        s.teamId,
        s.region,
        s.state,
        s.shield ? 1 : 0,
        s.cidr,
        s.dataCidr,
        s.generation,
        s.createdAt,
        s.updatedAt,
      )
  }

  find(idOrName: string): Space | undefined {
    const r = this.db
      .prepare<[string, string], SpaceRow>(`${SPACE_SELECT} WHERE s.id = ? OR s.name = ?`)
      .get(idOrName, idOrName)
    return r && toSpace(r)
  }

  all(): Space[] {
    return this.db.prepare<[], SpaceRow>(SPACE_SELECT).all().map(toSpace)
  }

  forTeams(teamIds: readonly string[]): Space[] {
    if (teamIds.length === 0) return []
    return this.db
      .prepare<string[], SpaceRow>(
        `${SPACE_SELECT} WHERE s.team_id IN (${teamIds.map(() => '?').join(',')})`,
      )
      .all(...teamIds)
      .map(toSpace)
  }

  inState(state: SpaceState): Space[] {
    return this.db
      .prepare<[string], SpaceRow>(`${SPACE_SELECT} WHERE s.state = ?`)
      .all(state)
      .map(toSpace)
  }

  rename(id: string, name: string, now: string): void {
    this.db.prepare('UPDATE spaces SET name = ?, updated_at = ? WHERE id = ?').run(name, now, id)
  }

  setState(id: string, state: SpaceState, now: string): void {
    this.db.prepare('UPDATE spaces SET state = ?, updated_at = ? WHERE id = ?').run(state, now, id)
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM spaces WHERE id = ?').run(id)
  }

  appCount(spaceId: string): number {
    return this.db
      .prepare('SELECT count(*) FROM apps WHERE space_id = ?')
      .pluck()
      .get(spaceId) as number
  }

  insertRuleset(r: InboundRuleset): void {
    this.db
      .prepare(
        `INSERT INTO inbound_rulesets (id, space_id, version, rules, created_by, applied, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.id,
        r.spaceId,
        r.version,
        JSON.stringify(r.rules),
        r.createdBy,
        r.applied ? 1 : 0,
        r.createdAt,
      )
  }

  currentRuleset(spaceId: string): InboundRuleset | undefined {
    const r = this.db
      .prepare<[string], RulesetRow>(
        'SELECT * FROM inbound_rulesets WHERE space_id = ? ORDER BY version DESC LIMIT 1',
      )
      .get(spaceId)
    return r && toRuleset(r)
  }

  rulesets(spaceId: string): InboundRuleset[] {
    return this.db
      .prepare<[string], RulesetRow>('SELECT * FROM inbound_rulesets WHERE space_id = ?')
      .all(spaceId)
      .map(toRuleset)
  }

  ruleset(spaceId: string, id: string): InboundRuleset | undefined {
    const r = this.db
      .prepare<[string, string], RulesetRow>(
        'SELECT * FROM inbound_rulesets WHERE space_id = ? AND id = ?',
      )
      .get(spaceId, id)
    return r && toRuleset(r)
  }

  markRulesetApplied(id: string): void {
    this.db.prepare('UPDATE inbound_rulesets SET applied = 1 WHERE id = ?').run(id)
  }

  logDrain(spaceId: string): LogDrain | undefined {
    const r = this.db
      .prepare<
        [string],
        Omit<LogDrain, 'spaceId' | 'createdAt' | 'updatedAt'> & {
          space_id: string
          created_at: string
          updated_at: string
        }
      >('SELECT * FROM space_log_drains WHERE space_id = ?')
      .get(spaceId)
    return (
      r && {
        id: r.id,
        spaceId: r.space_id,
        url: r.url,
        token: r.token,
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      }
    )
  }

  upsertLogDrain(d: LogDrain): void {
    this.db
      .prepare(
        `INSERT INTO space_log_drains (space_id, id, url, token, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (space_id) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at`,
      )
      .run(d.spaceId, d.id, d.url, d.token, d.createdAt, d.updatedAt)
  }
}
