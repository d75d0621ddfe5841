/** Small pieces every page uses: errors as the API says them, loading, state badges. */
import type { ComponentChildren } from 'preact'

export function ErrorNote({ error }: { error: Error | string | undefined }) {
  if (!error) return null
  return (
    <p class="error" role="alert">
      {typeof error === 'string' ? error : error.message}
    </p>
  )
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  )
}

const STATE_CLASS: Record<string, string> = {
  allocated: 'ok',
  up: 'ok',
  succeeded: 'ok',
  active: 'ok',
  UP: 'ok',
  enabled: 'ok',
  allocating: 'busy',
  starting: 'busy',
  pending: 'busy',
  provisioning: 'busy',
  updating: 'busy',
  deleting: 'busy',
  crashed: 'bad',
  failed: 'bad',
  DOWN: 'bad',
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge ${STATE_CLASS[state] ?? 'idle'}`}>{state}</span>
}

export function Section({
  title,
  children,
  id,
}: {
  title: string
  children: ComponentChildren
  id?: string
}) {
  const headingId = `h-${id ?? title.toLowerCase().replace(/\W+/g, '-')}`
  return (
    <section aria-labelledby={headingId} class="card">
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  )
}

export const since = (iso: string | null | undefined): string =>
  iso ? new Date(iso).toLocaleString() : '—'

/**
 * A list a page loads: the API's refusal, "Loading …" until it is there, a note when it is
 * empty, else a table with these column headings and a row per item.
 */
export function ListTable<T>(props: {
  what: string
  error: Error | undefined
  items: readonly T[] | undefined
  empty: string
  columns: readonly string[]
  row: (item: T) => ComponentChildren
}) {
  const { items } = props
  return (
    <>
      <ErrorNote error={props.error} />
      {!items ? (
        <Loading what={props.what} />
      ) : items.length === 0 ? (
        <p class="muted">{props.empty}</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                {props.columns.map((c) => (
                  <th scope="col" key={c}>
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>{items.map(props.row)}</tbody>
          </table>
        </div>
      )}
    </>
  )
}
