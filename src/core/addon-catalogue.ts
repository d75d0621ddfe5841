/**
 * The add-on catalogue: the services and plans `heroku addons:create SERVICE:PLAN` may name.
 * localspace runs Heroku Postgres and Heroku Key-Value Store (heroku-redis) itself, on servers
 * in the space's data network, so only the Private tier exists: the plans that live inside a
 * space. Heroku's Essential, Standard and Premium tiers are its multi-tenant services outside
 * any space; here they are refused with a message naming the private plans. Kafka is listed
 * because Private Spaces offer it, but no broker can be installed on this host (issue 17), so
 * creating one is refused too.
 *
 * Sizes follow Heroku's documented plans of the same number (Postgres standard-N/private-N,
 * Redis premium-N/private-N): the memory limit becomes the server's cgroup limit and the
 * connection limit its `max_connections` / `maxclients`.
 */
import { stableId } from './ids.js'

export type AddonKind = 'postgres' | 'redis' | 'kafka'

export interface AddonService {
  id: string
  name: string
  humanName: string
  kind: AddonKind
  /** The attachment name the first add-on of this service on an app gets (`DATABASE`). */
  defaultAttachment: string
  /** The prefix of later attachments' names: `HEROKU_POSTGRESQL` → HEROKU_POSTGRESQL_RED. */
  colourPrefix: string
  /** Add-on names are `<prefix>-<adjective>-<number>`, as Heroku's `postgresql-curly-12345`. */
  namePrefix: string
  /** Why the service cannot be created here; undefined: it can. */
  unavailable?: string
  /** Server-side listening port (TLS). */
  port: number
}

export interface AddonPlan {
  id: string
  /** `heroku-postgresql:private-0` */
  name: string
  service: AddonService
  humanName: string
  description: string
  memoryMb: number
  maxConnections: number
  /** The plan `addons:create SERVICE` (no plan) picks. */
  isDefault: boolean
}

const KAFKA_UNAVAILABLE =
  'Apache Kafka on Heroku is not available in localspace: no Kafka broker can be installed from the package sources this host uses (Debian 12 has none). Run a broker yourself and set its URL with heroku config:set KAFKA_URL=…'

const service = (s: Omit<AddonService, 'id'>): AddonService => ({
  ...s,
  id: stableId('addon-service', s.name),
})

export const ADDON_SERVICES: readonly AddonService[] = [
  service({
    name: 'heroku-postgresql',
    humanName: 'Heroku Postgres',
    kind: 'postgres',
    defaultAttachment: 'DATABASE',
    colourPrefix: 'HEROKU_POSTGRESQL',
    namePrefix: 'postgresql',
    port: 5432,
  }),
  service({
    name: 'heroku-redis',
    humanName: 'Heroku Key-Value Store',
    kind: 'redis',
    defaultAttachment: 'REDIS',
    colourPrefix: 'HEROKU_REDIS',
    namePrefix: 'redis',
    port: 6379,
  }),
  service({
    name: 'heroku-kafka',
    humanName: 'Apache Kafka on Heroku',
    kind: 'kafka',
    defaultAttachment: 'KAFKA',
    colourPrefix: 'HEROKU_KAFKA',
    namePrefix: 'kafka',
    port: 9096,
    unavailable: KAFKA_UNAVAILABLE,
  }),
]

const GIB = 1024

function plan(
  serviceName: string,
  tier: string,
  memoryMb: number,
  maxConnections: number,
  isDefault = false,
): AddonPlan {
  const s = ADDON_SERVICES.find((x) => x.name === serviceName)!
  const name = `${serviceName}:${tier}`
  const human = tier
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ')
  const memory = memoryMb >= GIB ? `${memoryMb / GIB} GB` : `${memoryMb} MB`
  return {
    id: stableId('plan', name),
    name,
    service: s,
    humanName: human,
    description: `${s.humanName} ${human}: ${memory} RAM, ${maxConnections} connections`,
    memoryMb,
    maxConnections,
    isDefault,
  }
}

export const ADDON_PLANS: readonly AddonPlan[] = [
  plan('heroku-postgresql', 'private-0', 4 * GIB, 120, true),
  plan('heroku-postgresql', 'private-2', 8 * GIB, 400),
  plan('heroku-postgresql', 'private-3', 15 * GIB, 500),
  plan('heroku-postgresql', 'private-4', 30 * GIB, 500),
  plan('heroku-redis', 'private-3', 500, 400),
  plan('heroku-redis', 'private-5', 1792, 1000),
  plan('heroku-redis', 'private-7', 7 * GIB, 10000, true),
  plan('heroku-redis', 'private-9', 28 * GIB, 40000),
  plan('heroku-kafka', 'private-standard-0', 0, 0, true),
  plan('heroku-kafka', 'private-extended-0', 0, 0),
]

export function findService(idOrName: string): AddonService | undefined {
  return ADDON_SERVICES.find((s) => s.id === idOrName || s.name === idOrName)
}

export const plansOf = (s: AddonService): AddonPlan[] => ADDON_PLANS.filter((p) => p.service === s)

/** By id, by full name (`heroku-postgresql:private-0`), or by tier within a service. */
export function findPlan(idOrName: string, within?: AddonService): AddonPlan | undefined {
  return ADDON_PLANS.find(
    (p) =>
      (within === undefined || p.service === within) &&
      (p.id === idOrName ||
        p.name === idOrName ||
        (within && p.name === `${within.name}:${idOrName}`)),
  )
}

/**
 * Heroku names a later database HEROKU_POSTGRESQL_<COLOUR> (and a later Redis
 * HEROKU_REDIS_<COLOUR>), picking a colour not yet used on the app.
 */
export const ATTACHMENT_COLOURS: readonly string[] = [
  'AMBER',
  'AQUA',
  'BLACK',
  'BLUE',
  'BRONZE',
  'BROWN',
  'CHARCOAL',
  'COBALT',
  'COPPER',
  'CORAL',
  'CRIMSON',
  'CYAN',
  'GOLD',
  'GRAY',
  'GREEN',
  'IVORY',
  'JADE',
  'LIME',
  'MAGENTA',
  'MAROON',
  'MAUVE',
  'NAVY',
  'OCHRE',
  'OLIVE',
  'ONYX',
  'ORANGE',
  'PINK',
  'PUCE',
  'PURPLE',
  'RED',
  'ROSE',
  'SILVER',
  'TEAL',
  'VIOLET',
  'WHITE',
  'YELLOW',
]
