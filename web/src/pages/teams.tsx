/** Teams: members and their roles; team admins add, change and remove members. */
import { useState } from 'preact/hooks'
import { api, enc } from '../api.js'
import { useAction, useResource } from '../hooks.js'
import type { Member, Team } from '../types.js'
import { ErrorNote, Loading, Section } from '../ui.js'

const ROLES = ['admin', 'member', 'viewer']

export function TeamsPage() {
  const teams = useResource('teams', () => api<Team[]>('GET', '/teams'))
  return (
    <>
      <h1>Teams</h1>
      <ErrorNote error={teams.error} />
      {!teams.data ? (
        <Loading what="teams" />
      ) : teams.data.length === 0 ? (
        <p class="muted">You are not in any team.</p>
      ) : (
        teams.data.map((t) => <TeamMembers key={t.id} team={t} />)
      )}
    </>
  )
}

function TeamMembers({ team }: { team: Team }) {
  const members = useResource(`members-${team.id}`, () =>
    api<Member[]>('GET', `/teams/${enc(team.name)}/members`),
  )
  const action = useAction()
  const [email, setEmail] = useState('')
  const [role, setRole] = useState('member')
  const isAdmin = team.role === 'admin' || team.role === null
  const change = async (doIt: () => Promise<unknown>) => {
    if (await action.run(doIt)) members.reload()
  }
  return (
    <Section title={`Team ${team.name}`} id={`team-${team.name}`}>
      <p class="muted">Your role: {team.role ?? 'installation admin'}</p>
      <ErrorNote error={members.error} />
      <ErrorNote error={action.error} />
      {!members.data ? (
        <Loading what="members" />
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Role</th>
                {isAdmin && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {members.data.map((m) => (
                <tr key={m.id}>
                  <td>{m.email}</td>
                  <td>
                    {isAdmin ? (
                      <select
                        aria-label={`Role of ${m.email}`}
                        value={m.role}
                        onChange={(e) => {
                          const value = e.currentTarget.value
                          void change(() =>
                            api('PATCH', `/teams/${enc(team.name)}/members`, {
                              email: m.email,
                              role: value,
                            }),
                          )
                        }}
                      >
                        {ROLES.map((r) => (
                          <option key={r}>{r}</option>
                        ))}
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  {isAdmin && (
                    <td>
                      <button
                        type="button"
                        onClick={() =>
                          void change(() =>
                            api('DELETE', `/teams/${enc(team.name)}/members/${enc(m.email)}`),
                          )
                        }
                      >
                        Remove {m.email}
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {isAdmin && (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault()
            void change(async () => {
              await api('PUT', `/teams/${enc(team.name)}/members`, { email, role })
              setEmail('')
            })
          }}
        >
          <label>
            Email
            <input
              type="email"
              required
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          </label>
          <label>
            Role
            <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <button type="submit" class="primary" disabled={action.busy}>
            Add member
          </button>
        </form>
      )}
    </Section>
  )
}
