/**
 * An app, as on Heroku's Resources, Activity and Settings tabs in one page: formation with
 * scaling, add-ons, config vars (hidden until asked, edited in place), releases with
 * rollback, builds with their output, domains, and a live log tail.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, enc, streamLines } from '../api.js'
import { useAction, useResource, type Resource } from '../hooks.js'
import type { Addon, AppInfo, Build, Domain, Dyno, Formation, Release } from '../types.js'
import { ErrorNote, Loading, Section, StateBadge, since } from '../ui.js'

export function AppPage({ name }: { name: string }) {
  const info: Resource<AppInfo> = useResource(
    `app-${name}`,
    () => api<AppInfo>('GET', `/apps/${enc(name)}`),
    (e) => e.event === 'app.changed' && e.app === info.data?.id,
  )
  if (!info.data)
    return info.error ? <ErrorNote error={info.error} /> : <Loading what={`app ${name}`} />
  const app = info.data
  const mine = (e: { app?: string }) => e.app === app.id
  return (
    <>
      <h1>App {app.name}</h1>
      <p class="muted">
        {app.team ? `Team ${app.team.name}` : 'Personal app'}
        {app.space && (
          <>
            {' · Space '}
            <a href={`#/spaces/${encodeURIComponent(app.space.name)}`}>{app.space.name}</a>
          </>
        )}
        {' · '}
        <a href={app.web_url}>{app.web_url}</a>
      </p>
      <FormationSection app={app} live={mine} />
      <AddonsSection app={app} />
      <ConfigVarsSection app={app} live={mine} />
      <ReleasesSection app={app} live={mine} />
      <BuildsSection app={app} live={mine} />
      <DomainsSection app={app} live={mine} />
      <LogsSection app={app} />
    </>
  )
}

interface Props {
  app: AppInfo
  live: (e: { app?: string }) => boolean
}

function FormationSection({ app, live }: Props) {
  const data = useResource(
    `formation-${app.id}`,
    async () => {
      const [formation, dynos] = await Promise.all([
        api<Formation[]>('GET', `/apps/${enc(app.id)}/formation`),
        api<Dyno[]>('GET', `/apps/${enc(app.id)}/dynos`),
      ])
      return { formation, dynos }
    },
    live,
  )
  const action = useAction()
  const scale = async (type: string, quantity: number) => {
    if (
      await action.run(() =>
        api('PATCH', `/apps/${enc(app.id)}/formation`, { updates: [{ type, quantity }] }),
      )
    )
      data.reload()
  }
  return (
    <Section title="Formation" id="formation">
      <ErrorNote error={data.error} />
      <ErrorNote error={action.error} />
      {!data.data ? (
        <Loading what="formation" />
      ) : data.data.formation.length === 0 ? (
        <p class="muted">No process types yet: deploy the app first.</p>
      ) : (
        data.data.formation.map((f) => (
          <ProcessType
            key={f.id}
            formation={f}
            dynos={data.data!.dynos.filter((d) => d.type === f.type)}
            busy={action.busy}
            onScale={scale}
          />
        ))
      )}
    </Section>
  )
}

function ProcessType({
  formation,
  dynos,
  busy,
  onScale,
}: {
  formation: Formation
  dynos: Dyno[]
  busy: boolean
  onScale: (type: string, quantity: number) => Promise<void>
}) {
  const [quantity, setQuantity] = useState(String(formation.quantity))
  useEffect(() => setQuantity(String(formation.quantity)), [formation.quantity])
  const id = `qty-${formation.type}`
  return (
    <div class="ptype-row" data-process={formation.type}>
      <h3>
        {formation.type} <span class="muted">{formation.size}</span>{' '}
        <code class="cmd">{formation.command}</code>
      </h3>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault()
          void onScale(formation.type, Number(quantity))
        }}
      >
        <label for={id}>Dynos of {formation.type}</label>
        <input
          id={id}
          type="number"
          min={0}
          max={100}
          required
          value={quantity}
          onInput={(e) => setQuantity(e.currentTarget.value)}
        />
        <button type="submit" class="primary" disabled={busy}>
          Scale {formation.type}
        </button>
      </form>
      <ul class="dynos" aria-label={`Running ${formation.type} dynos`}>
        {dynos.map((d) => (
          <li key={d.id} data-dyno={d.name}>
            {d.name} <StateBadge state={d.state} /> <span class="muted">v{d.release.version}</span>
          </li>
        ))}
      </ul>
    </div>
  )
}

function AddonsSection({ app }: { app: AppInfo }) {
  const addons = useResource(`addons-${app.id}`, () =>
    api<Addon[]>('GET', `/apps/${enc(app.id)}/addons`),
  )
  return (
    <Section title="Add-ons" id="addons">
      <ErrorNote error={addons.error} />
      {addons.data && addons.data.length === 0 && <p class="muted">No add-ons.</p>}
      <ul class="plain">
        {addons.data?.map((a) => (
          <li key={a.id}>
            {a.name} <span class="muted">{a.plan.name}</span>{' '}
            {a.state && <StateBadge state={a.state} />}
          </li>
        ))}
      </ul>
    </Section>
  )
}

function ConfigVarsSection({ app, live }: Props) {
  const [revealed, setRevealed] = useState(false)
  return (
    <Section title="Config vars" id="config-vars">
      {revealed ? (
        <ConfigVars app={app} live={live} />
      ) : (
        <button type="button" onClick={() => setRevealed(true)}>
          Reveal config vars
        </button>
      )}
    </Section>
  )
}

function ConfigVars({ app, live }: Props) {
  const vars = useResource(
    `config-${app.id}`,
    () => api<Record<string, string>>('GET', `/apps/${enc(app.id)}/config-vars`),
    live,
  )
  const action = useAction()
  const [editing, setEditing] = useState<string>()
  const [draft, setDraft] = useState('')
  const [newKey, setNewKey] = useState('')
  const [newValue, setNewValue] = useState('')
  const patch = async (body: Record<string, string | null>) => {
    const ok = await action.run(() => api('PATCH', `/apps/${enc(app.id)}/config-vars`, body))
    if (ok) vars.reload()
    return ok
  }
  if (!vars.data)
    return vars.error ? <ErrorNote error={vars.error} /> : <Loading what="config vars" />
  return (
    <>
      <ErrorNote error={action.error} />
      {Object.keys(vars.data).length === 0 && <p class="muted">No config vars.</p>}
      <table class="config" hidden={Object.keys(vars.data).length === 0}>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Value</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(vars.data).map(([key, value]) => (
            <tr key={key} data-var={key}>
              <th scope="row">
                <code>{key}</code>
              </th>
              <td>
                {editing === key ? (
                  <form
                    id={`edit-${key}`}
                    onSubmit={(e) => {
                      e.preventDefault()
                      void patch({ [key]: draft }).then((ok) => ok && setEditing(undefined))
                    }}
                  >
                    <input
                      aria-label={`Value of ${key}`}
                      value={draft}
                      onInput={(e) => setDraft(e.currentTarget.value)}
                    />
                  </form>
                ) : (
                  <code class="value">{value}</code>
                )}
              </td>
              <td>
                {editing === key ? (
                  <>
                    {/* Keys: the Edit button's node must not become this submit button while its
                        click is still being handled (the browser would then submit the form). */}
                    <button
                      key="save"
                      type="submit"
                      form={`edit-${key}`}
                      class="primary"
                      disabled={action.busy}
                    >
                      Save {key}
                    </button>
                    <button type="button" onClick={() => setEditing(undefined)}>
                      Cancel
                    </button>
                  </>
                ) : (
                  <>
                    <button
                      key="edit"
                      type="button"
                      onClick={() => {
                        setEditing(key)
                        setDraft(value)
                      }}
                    >
                      Edit {key}
                    </button>
                    <button
                      type="button"
                      onClick={() => void patch({ [key]: null })}
                      disabled={action.busy}
                    >
                      Remove {key}
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault()
          void patch({ [newKey.trim()]: newValue }).then((ok) => {
            if (!ok) return
            setNewKey('')
            setNewValue('')
          })
        }}
      >
        <label>
          Key
          <input required value={newKey} onInput={(e) => setNewKey(e.currentTarget.value)} />
        </label>
        <label>
          Value
          <input value={newValue} onInput={(e) => setNewValue(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          Add config var
        </button>
      </form>
    </>
  )
}

function ReleasesSection({ app, live }: Props) {
  const releases = useResource(
    `releases-${app.id}`,
    () =>
      api<Release[]>('GET', `/apps/${enc(app.id)}/releases`, undefined, {
        range: 'version ..; order=desc, max=20',
      }),
    live,
  )
  const action = useAction()
  const [confirm, setConfirm] = useState<string>()
  const rollback = async (r: Release) => {
    setConfirm(undefined)
    if (await action.run(() => api('POST', `/apps/${enc(app.id)}/releases`, { release: r.id })))
      releases.reload()
  }
  return (
    <Section title="Releases" id="releases">
      <ErrorNote error={releases.error} />
      <ErrorNote error={action.error} />
      {!releases.data ? (
        <Loading what="releases" />
      ) : (
        <ol class="plain releases">
          {releases.data.map((r) => (
            <li key={r.id} data-version={r.version}>
              <strong>v{r.version}</strong> {r.description}{' '}
              <span class="muted">
                {r.user.email} · {since(r.created_at)}
              </span>{' '}
              {r.current ? (
                <span class="badge ok">current</span>
              ) : confirm === r.id ? (
                <>
                  <button
                    type="button"
                    class="primary"
                    onClick={() => void rollback(r)}
                    disabled={action.busy}
                  >
                    Confirm roll back to v{r.version}
                  </button>
                  <button type="button" onClick={() => setConfirm(undefined)}>
                    Cancel
                  </button>
                </>
              ) : (
                <button type="button" onClick={() => setConfirm(r.id)}>
                  Roll back to v{r.version}
                </button>
              )}
            </li>
          ))}
        </ol>
      )}
    </Section>
  )
}

function BuildsSection({ app, live }: Props) {
  const builds = useResource(
    `builds-${app.id}`,
    () =>
      api<Build[]>('GET', `/apps/${enc(app.id)}/builds`, undefined, {
        range: 'started_at ..; order=desc, max=10',
      }),
    live,
  )
  const [open, setOpen] = useState<string>()
  return (
    <Section title="Builds" id="builds">
      <ErrorNote error={builds.error} />
      {builds.data?.length === 0 && <p class="muted">No builds yet.</p>}
      <ul class="plain">
        {builds.data?.map((b) => (
          <li key={b.id}>
            <StateBadge state={b.status} /> {since(b.created_at)}{' '}
            <span class="muted">{b.user.email}</span>{' '}
            {b.output_stream_url && (
              <button
                type="button"
                aria-expanded={open === b.id}
                onClick={() => setOpen(open === b.id ? undefined : b.id)}
              >
                {open === b.id ? 'Hide' : 'View'} build output
              </button>
            )}
            {open === b.id && b.output_stream_url && (
              <StreamText url={b.output_stream_url} label="Build output" />
            )}
          </li>
        ))}
      </ul>
    </Section>
  )
}

function DomainsSection({ app, live }: Props) {
  const domains = useResource(
    `domains-${app.id}`,
    () => api<Domain[]>('GET', `/apps/${enc(app.id)}/domains`),
    live,
  )
  return (
    <Section title="Domains" id="domains">
      <ErrorNote error={domains.error} />
      <ul class="plain">
        {domains.data?.map((d) => (
          <li key={d.id}>
            <code>{d.hostname}</code> <span class="muted">{d.kind}</span>{' '}
            <StateBadge state={d.status} />
            {d.cname && <span class="muted"> → {d.cname}</span>}
          </li>
        ))}
      </ul>
    </Section>
  )
}

/** The most lines the page keeps of a stream: older ones scroll away. */
const MAX_LINES = 500

/** Lines of a stream (log tail, build output) as they come, until the view goes away. */
function useStream(
  open: () => Promise<string>,
  key: string,
): { lines: string[]; error: string | undefined } {
  const [lines, setLines] = useState<string[]>([])
  const [error, setError] = useState<string>()
  useEffect(() => {
    const abort = new AbortController()
    const add = (line: string) =>
      setLines((old) => (old.length >= MAX_LINES ? [...old.slice(1), line] : [...old, line]))
    // A stream cut by the network (interfaces change as dynos start) is opened again, from
    // scratch so no line shows twice; after three cuts in a row the error is shown.
    const run = async (attempt: number): Promise<void> => {
      setLines([])
      try {
        await streamLines(await open(), add, abort.signal)
      } catch (e) {
        if (abort.signal.aborted) return
        if (e instanceof TypeError && attempt < 3) {
          await new Promise((resolve) => setTimeout(resolve, 300 * (attempt + 1)))
          if (!abort.signal.aborted) return run(attempt + 1)
          return
        }
        setError(e instanceof Error ? e.message : String(e))
      }
    }
    void run(0)
    return () => abort.abort()
  }, [key])
  return { lines, error }
}

function StreamText({ url, label }: { url: string; label: string }) {
  const { lines, error } = useStream(async () => url, url)
  return (
    <>
      <ErrorNote error={error} />
      <pre class="stream" aria-label={label} tabIndex={0}>
        {lines.join('\n')}
      </pre>
    </>
  )
}

function LogsSection({ app }: { app: AppInfo }) {
  const [paused, setPaused] = useState(false)
  const { lines, error } = useStream(async () => {
    if (paused) return new Promise<string>(() => undefined)
    const session = await api<{ logplex_url: string }>(
      'POST',
      `/apps/${enc(app.id)}/log-sessions`,
      { tail: true, lines: 100 },
    )
    return session.logplex_url
  }, `${app.id}-${paused}`)
  const pre = useRef<HTMLPreElement>(null)
  useEffect(() => {
    const el = pre.current
    if (el) el.scrollTop = el.scrollHeight
  }, [lines.length])
  return (
    <Section title="Logs" id="logs">
      <button type="button" onClick={() => setPaused(!paused)} aria-pressed={paused}>
        {paused ? 'Resume log tail' : 'Pause log tail'}
      </button>
      <ErrorNote error={error} />
      <pre class="stream logs" ref={pre} aria-label="Log tail" aria-live="off" tabIndex={0}>
        {lines.join('\n')}
      </pre>
    </Section>
  )
}
