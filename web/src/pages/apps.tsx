/** Apps the user may see: name, team, space, region. */
import { api } from '../api.js'
import { useResource } from '../hooks.js'
import type { AppInfo } from '../types.js'
import { ListTable, Section } from '../ui.js'

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
        <ListTable
          what="apps"
          error={apps.error}
          items={apps.data}
          empty="No apps yet."
          columns={['Name', 'Team', 'Space', 'Region']}
          row={(a) => (
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
          )}
        />
      </Section>
    </>
  )
}
