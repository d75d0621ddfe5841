/**
 * A space: its networks, outbound IPs and trusted IP ranges (team admins change them), its
 * topology picture and the same facts as a table, updated live as dynos come and go.
 */
import type { FunctionComponent } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api, apiListOrNone, enc } from '../api.js'
import { useAction, useResource, type Resource } from '../hooks.js'
import type { PictureInput } from '../topology/model.js'
import type {
  Addon,
  AppInfo,
  Dyno,
  Member,
  Nat,
  Peering,
  Ruleset,
  Space,
  Topology,
  VpnConnection,
} from '../types.js'
import { ErrorNote, Loading, Section, StateBadge } from '../ui.js'

interface SpaceData {
  space: Space
  ruleset: Ruleset
  picture: PictureInput
  canAdmin: boolean
}

async function loadSpace(name: string, myEmail: string): Promise<SpaceData> {
  const s = enc(name)
  const space = await api<Space>('GET', `/spaces/${s}`)
  const [topology, dynos, nat, ruleset, apps, vpns, peerings, members] = await Promise.all([
    api<Topology>('GET', `/spaces/${s}/topology`),
    api<Array<{ app_id: string; dynos: Dyno[] }>>('GET', `/spaces/${s}/dynos`),
    api<Nat>('GET', `/spaces/${s}/nat`),
    api<Ruleset>('GET', `/spaces/${s}/inbound-ruleset`).catch(() => ({ rules: [] })),
    api<AppInfo[]>('GET', '/apps'),
    // Not in localspace yet (VPN, peering): drawn as soon as the API answers with them.
    apiListOrNone<VpnConnection>(`/spaces/${s}/vpn-connections`),
    apiListOrNone<Peering>(`/spaces/${s}/peerings`),
    apiListOrNone<Member>(`/teams/${enc(space.team.name)}/members`),
  ])
  const inSpace = apps.filter((a) => a.space?.id === space.id)
  const addons = await Promise.all(
    inSpace.map((a) => apiListOrNone<Addon>(`/apps/${enc(a.id)}/addons`)),
  )
  const myRole = members.find((m) => m.email === myEmail)?.role
  return {
    space,
    ruleset,
    // Installation admins are in no team but admin every one; the API has the last word.
    canAdmin: myRole === undefined || myRole === 'admin',
    picture: toPictureInput(space, topology, dynos, nat, ruleset, inSpace, addons, vpns, peerings),
  }
}

export function toPictureInput(
  space: Space,
  topology: Topology,
  dynos: Array<{ app_id: string; dynos: Dyno[] }>,
  nat: Nat,
  ruleset: Ruleset,
  apps: AppInfo[],
  addons: Addon[][],
  vpns: VpnConnection[],
  peerings: Peering[],
): PictureInput {
  return {
    space: { name: space.name, cidr: space.cidr, dataCidr: space.data_cidr, state: space.state },
    trusted: ruleset.rules,
    nat: nat.sources,
    apps: apps.map((a, i) => {
      const views = dynos.find((d) => d.app_id === a.id)?.dynos ?? []
      const formation = topology.apps.find((t) => t.id === a.id)?.formation ?? []
      const types = [
        ...new Set([
          ...formation.map((f) => f.process_type),
          ...views.filter((d) => d.type !== 'run').map((d) => d.type),
        ]),
      ]
      return {
        id: a.id,
        name: a.name,
        internalRouting: a.internal_routing === true,
        processes: types.map((type) => {
          const addressed = formation.find((f) => f.process_type === type)?.dynos ?? []
          return {
            type,
            dynos: views
              .filter((d) => d.type === type)
              .map((d) => {
                const t = addressed.find((x) => x.id === d.id)
                return {
                  name: d.name,
                  state: d.state,
                  privateIp: t?.private_ip,
                  hostname: t?.hostname,
                }
              }),
          }
        }),
        addons: (addons[i] ?? []).map((x) => ({ name: x.name, plan: x.plan.name })),
      }
    }),
    vpns: vpns.map((v) => ({
      name: v.name,
      status: v.status,
      cidrs: v.routable_cidrs ?? [],
      tunnels: (v.tunnels ?? []).map((t) => ({
        ip: t.customer_ip ?? t.ip ?? '',
        status: t.status,
      })),
    })),
    peerings: peerings.map((p) => ({
      id: p.pcx_id,
      type: p.type,
      status: p.status,
      cidrs: p.cidr_blocks,
    })),
  }
}

type PictureComponent = FunctionComponent<{ input: PictureInput }>

/** The picture module (with dagre) is fetched the first time a space is shown. */
function usePictureComponent(): PictureComponent | undefined {
  const [component, setComponent] = useState<{ c: PictureComponent }>()
  useEffect(() => {
    void import('../topology/picture.js').then((m) => setComponent({ c: m.Picture }))
  }, [])
  return component?.c
}

export function SpacePage({ name, email }: { name: string; email: string }) {
  const data: Resource<SpaceData> = useResource(
    `space-${name}`,
    () => loadSpace(name, email),
    // Anything about this space or one of its apps (dynos, formation, releases).
    (e) => e.space === data.data?.space.id || data.data === undefined,
  )
  const Picture = usePictureComponent()
  if (!data.data)
    return data.error ? <ErrorNote error={data.error} /> : <Loading what={`space ${name}`} />
  const { space, picture, ruleset, canAdmin } = data.data
  return (
    <>
      <h1>
        Space {space.name} <StateBadge state={space.state} />
      </h1>
      <ErrorNote error={data.error} />
      <Section title="Network" id="network">
        <dl class="facts">
          <dt>Team</dt>
          <dd>{space.team.name}</dd>
          <dt>Region</dt>
          <dd>{space.region.name}</dd>
          <dt>Dyno network</dt>
          <dd>{space.cidr}</dd>
          <dt>Data network</dt>
          <dd>{space.data_cidr}</dd>
          <dt>Outbound IPs</dt>
          <dd data-testid="outbound">{picture.nat.length ? picture.nat.join(', ') : '—'}</dd>
        </dl>
        <TrustedRanges
          space={space}
          ruleset={ruleset}
          canAdmin={canAdmin}
          onChanged={data.reload}
        />
      </Section>
      <Section title="Topology" id="topology">
        <div class="picture" tabIndex={0} aria-label="Topology picture, scrollable">
          {Picture ? <Picture input={picture} /> : <Loading what="picture" />}
        </div>
      </Section>
      <Section title="Dynos" id="dynos">
        <DynoTable picture={picture} />
      </Section>
    </>
  )
}

function TrustedRanges({
  space,
  ruleset,
  canAdmin,
  onChanged,
}: {
  space: Space
  ruleset: Ruleset
  canAdmin: boolean
  onChanged: () => void
}) {
  const [source, setSource] = useState('')
  const action = useAction()
  const put = async (rules: Ruleset['rules']) => {
    if (
      await action.run(() => api('PUT', `/spaces/${enc(space.name)}/inbound-ruleset`, { rules }))
    ) {
      setSource('')
      onChanged()
    }
  }
  return (
    <>
      <h3>Trusted IP ranges</h3>
      <ul class="plain">
        {ruleset.rules.map((r) => (
          <li key={r.source}>
            <code>{r.source}</code> {r.action}{' '}
            {canAdmin && (
              <button
                type="button"
                onClick={() => void put(ruleset.rules.filter((x) => x.source !== r.source))}
              >
                Remove {r.source}
              </button>
            )}
          </li>
        ))}
        {ruleset.rules.length === 0 && (
          <li class="muted">None: the public router admits no one.</li>
        )}
      </ul>
      {canAdmin && (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault()
            void put([...ruleset.rules, { action: 'allow', source: source.trim() }])
          }}
        >
          <label>
            Range (CIDR)
            <input
              required
              value={source}
              placeholder="203.0.113.0/24"
              onInput={(e) => setSource(e.currentTarget.value)}
            />
          </label>
          <button type="submit" class="primary" disabled={action.busy}>
            Add range
          </button>
        </form>
      )}
      <ErrorNote error={action.error} />
    </>
  )
}

function DynoTable({ picture }: { picture: PictureInput }) {
  const rows = picture.apps.flatMap((a) =>
    a.processes.flatMap((p) => p.dynos.map((d) => ({ app: a.name, ...d }))),
  )
  if (rows.length === 0) return <p class="muted">No dynos in this space.</p>
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">App</th>
            <th scope="col">Dyno</th>
            <th scope="col">State</th>
            <th scope="col">Private IP</th>
            <th scope="col">DNS name</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={`${d.app}/${d.name}`}>
              <td>
                <a href={`#/apps/${encodeURIComponent(d.app)}`}>{d.app}</a>
              </td>
              <td>{d.name}</td>
              <td>
                <StateBadge state={d.state} />
              </td>
              <td>
                <code>{d.privateIp ?? '—'}</code>
              </td>
              <td>
                <code>{d.hostname ?? '—'}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
