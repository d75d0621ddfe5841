/** Apps the user may see: name, team, space, region. */
import { api } from '../api.js'
import { useResource } from '../hooks.js'
import type { AppInfo } from '../types.js'
import { ErrorNote, Loading, Section } from '../ui.js'

export function AppsPage() {
  const apps = useResource(
    'apps',
    () => api<AppInfo[]>('GET', '/apps'),
    (e) => e.event === 'app.changed',
  )
  return (
    <>
      <h1>Apps</h1>
      <Section title="Your apps" id="apps">
        <ErrorNote error={apps.error} />
        {!apps.data ? (
          <Loading what="apps" />
        ) : apps.data.length === 0 ? (
          <p class="muted">No apps yet.</p>
        ) : (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Team</th>
                  <th scope="col">Space</th>
                  <th scope="col">Region</th>
                </tr>
              </thead>
              <tbody>
                {apps.data.map((a) => (
                  <tr key={a.id}>
                    <td>
                      <a href={`#/apps/${encodeURIComponent(a.name)}`}>{a.name}</a>
                    </td>
                    <td>{a.team?.name ?? 'personal'}</td>
                    <td>
                      {a.space ? (
                        <a href={`#/spaces/${encodeURIComponent(a.space.name)}`}>{a.space.name}</a>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>{a.region.name}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  )
}
