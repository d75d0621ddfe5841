/** Spaces: name, team, region, state (live: allocating → allocated), app count; a new space. */
import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { useAction, useResource } from '../hooks.js'
import type { AppInfo, Space, Team } from '../types.js'
import { ErrorNote, ListTable, Section, StateBadge } from '../ui.js'

interface Region {
  name: string
  description: string
}

export function SpacesPage() {
  const list = useResource(
    'spaces',
    async () => {
      const [spaces, apps] = await Promise.all([
        api<Space[]>('GET', '/spaces'),
        api<AppInfo[]>('GET', '/apps'),
      ])
      return { spaces, apps }
    },
    (e) => e.space !== undefined,
  )
  return (
    <>
      <h1>Spaces</h1>
      <Section title="Your spaces" id="spaces">
        <ListTable
          what="spaces"
          error={list.error}
          items={list.data?.spaces}
          empty="No spaces yet."
          columns={['Name', 'Team', 'Region', 'State', 'Apps']}
          row={(s) => (
            <tr key={s.id} data-space={s.name}>
              <td>
                <a href={`#/spaces/${encodeURIComponent(s.name)}`}>{s.name}</a>
              </td>
              <td>{s.team.name}</td>
              <td>{s.region.name}</td>
              <td>
                <StateBadge state={s.state} />
              </td>
              <td>{list.data!.apps.filter((a) => a.space?.id === s.id).length}</td>
            </tr>
          )}
        />
      </Section>
      <NewSpace onCreated={list.reload} />
    </>
  )
}

function NewSpace({ onCreated }: { onCreated: () => void }) {
  const choices = useResource('new-space', async () => {
    const [teams, regions] = await Promise.all([
      api<Team[]>('GET', '/teams'),
      api<Region[]>('GET', '/regions'),
    ])
    return { teams, regions }
  })
  const [name, setName] = useState('')
  const [team, setTeam] = useState('')
  const [region, setRegion] = useState('')
  const action = useAction()
  if (!choices.data) return null
  const teams = choices.data.teams
  const submit = async (e: Event) => {
    e.preventDefault()
    const ok = await action.run(() =>
      api('POST', '/spaces', {
        name,
        team: team || teams[0]?.name,
        ...(region && { region }),
      }),
    )
    if (ok) {
      setName('')
      onCreated()
    }
  }
  return (
    <Section title="Create a space" id="new-space">
      {teams.length === 0 ? (
        <p class="muted">A space belongs to a team: create or join a team first.</p>
      ) : (
        <form class="inline" onSubmit={(e) => void submit(e)}>
          <label>
            Name
            <input
              required
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
              pattern="[a-z][a-z0-9-]*"
            />
          </label>
          <label>
            Team
            <select value={team} onChange={(e) => setTeam(e.currentTarget.value)}>
              {teams.map((t) => (
                <option key={t.id} value={t.name}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Region
            <select value={region} onChange={(e) => setRegion(e.currentTarget.value)}>
              <option value="">default</option>
              {choices.data.regions.map((r) => (
                <option key={r.name} value={r.name}>
                  {r.name}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" class="primary" disabled={action.busy}>
            Create space
          </button>
          <ErrorNote error={action.error} />
        </form>
      )}
    </Section>
  )
}
