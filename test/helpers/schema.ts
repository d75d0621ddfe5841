/**
 * Validates API response bodies against Heroku's own hyper-schema, kept in the repository
 * (test/fixtures/heroku-platform-schema.json, see test/fixtures/README.md): the response of
 * `METHOD path` must match the link's targetSchema (or its definition, an array of it for
 * `instances` links).
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import AjvDraft04 from 'ajv-draft-04'
import addFormats from 'ajv-formats'
import type { ValidateFunction } from 'ajv'

const here = dirname(fileURLToPath(import.meta.url))
export const SCHEMA_PATH = join(here, '..', 'fixtures', 'heroku-platform-schema.json')

interface Link {
  href: string
  method: string
  rel?: string
  targetSchema?: unknown
}
interface Definition {
  links?: Link[]
}
interface HyperSchema {
  definitions: Record<string, Definition>
}

interface Route {
  method: string
  pattern: RegExp
  href: string
  validate: ValidateFunction
}

/** Endpoints that are localspace's own and have no Heroku schema. */
const OWN_ENDPOINTS = [/^\/localspace\//, /^\/healthz$/]
/** Endpoints the CLI uses that Heroku's v6 schema does not describe (see docs/heroku-reference.md). */
const UNDESCRIBED = [
  // Heroku's data API (pg:*, redis:*), which is not the Platform API: no schema of its own.
  /^\/client\/v11\//,
  /^\/postgres\/v0\//,
  /^\/redis\/v0\//,
  /^\/spaces\/[^/]+\/dynos$/,
  /^\/spaces\/[^/]+\/hosts$/,
  /^\/spaces\/[^/]+\/log-drain$/,
]

/**
 * `heroku spaces:peerings:accept` sends `POST /spaces/{s}/peerings {pcx_id}` (version=3.dogwood),
 * which the schema does not list; it answers what the schema's Accept link answers.
 */
const ACCEPT_FORM = /^\/spaces\/([^/]+)\/peerings$/

let routes: Route[] | undefined

/**
 * The one deliberate deviation: Heroku's schema pins app URLs to its own hosts
 * (`*.herokuapp.com`, `git.heroku.com`). localspace serves them from the operator's domain
 * and API address, so those two patterns become "an http(s) URL ending as Heroku's do".
 * And one mistake in the schema: a domain's `hostname` is marked `format: uri`, yet its own
 * example and what Heroku's API returns is a bare name (`subdomain.example.com`).
 */
function relaxHerokuHostPatterns(schema: HyperSchema): void {
  type Definitions = { definitions: Record<string, { pattern?: string; format?: string }> }
  const app = schema.definitions.app as Definitions
  app.definitions.web_url!.pattern = '^https?://[^/]+/$'
  app.definitions.git_url!.pattern = '^https?://[^/]+/[a-z][a-z0-9-]{2,29}\\.git$'
  delete (schema.definitions.domain as Definitions).definitions.hostname!.format
  includeAttachmentPlan(schema)
}

/**
 * `Accept-Inclusion: addon:plan` (sent by the CLI's attachment resolvers) adds the add-on's
 * plan to an attachment's `addon`, which the schema closes with additionalProperties: false.
 */
function includeAttachmentPlan(schema: HyperSchema): void {
  type Props = { properties: Record<string, { properties: Record<string, unknown> }> }
  const addon = (schema.definitions['add-on-attachment'] as unknown as Props).properties.addon!
  addon.properties.plan = { $ref: '#/definitions/add-on/definitions/plan' }
}

/**
 * Draft-04 reads a string `id` as a schema URI; Heroku's schema uses the word for plain
 * values too (e.g. in examples), which Ajv rejects as ambiguous. Properties named `id` map
 * to objects and are kept.
 */
function dropStringIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(dropStringIds)
  if (typeof node !== 'object' || node === null) return node
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(node)) {
    if (k === 'id' && typeof v === 'string') continue
    out[k] = dropStringIds(v)
  }
  return out
}

function load(): Route[] {
  // Every API test checks its responses here: without the schema they would check nothing.
  if (!existsSync(SCHEMA_PATH)) {
    throw new Error(
      `Heroku's schema is missing from the repository (${SCHEMA_PATH}); restore it with git checkout -- test/fixtures`,
    )
  }
  const schema = dropStringIds(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'))) as HyperSchema & {
    $schema?: string
  }
  delete schema.$schema // the interagent meta-schema is not published; draft-04 rules apply
  relaxHerokuHostPatterns(schema)
  // strict off: the hyper-schema uses keywords of its own (strictProperties, links, readOnly…).
  // unicodeRegExp off: some of Heroku's patterns use escapes (\:) that the u flag refuses.
  const ajv = new AjvDraft04.default({ strict: false, allErrors: true, unicodeRegExp: false })
  addFormats.default(ajv)
  ajv.addSchema(schema, 'heroku')
  const out: Route[] = []
  for (const [name, def] of Object.entries(schema.definitions)) {
    for (const link of def.links ?? []) {
      const target =
        link.targetSchema ??
        (link.rel === 'instances'
          ? { type: 'array', items: { $ref: `heroku#/definitions/${name}` } }
          : { $ref: `heroku#/definitions/${name}` })
      const resolved = JSON.parse(
        JSON.stringify(target).replaceAll('"#/definitions/', '"heroku#/definitions/'),
      ) as object
      const pattern = new RegExp(
        `^${decodeURIComponent(link.href)
          .replace(/\{\([^)]*\)\}/g, '[^/]+')
          .replace(/[.]/g, '\\.')}$`,
      )
      out.push({
        method: link.method.toUpperCase(),
        pattern,
        href: link.href,
        validate: ajv.compile(resolved),
      })
    }
  }
  return out
}

export interface SchemaCheck {
  /** false when the endpoint is localspace's own or undescribed by Heroku's schema. */
  described: boolean
  errors: string[]
}

/** Checks one response body; throws nothing, the caller asserts on `errors`. */
export function checkResponse(method: string, path: string, body: unknown): SchemaCheck {
  routes ??= load()
  let bare = path.split('?')[0]!
  const accept = method.toUpperCase() === 'POST' ? ACCEPT_FORM.exec(bare) : null
  if (accept) bare = `/spaces/${accept[1]}/peerings/pcx/actions/accept`
  if ([...OWN_ENDPOINTS, ...UNDESCRIBED].some((re) => re.test(bare))) {
    return { described: false, errors: [] }
  }
  const candidates = routes.filter((r) => r.method === method.toUpperCase() && r.pattern.test(bare))
  if (candidates.length === 0)
    return { described: false, errors: [`no schema link for ${method} ${bare}`] }
  // More than one link may match a path (e.g. /apps/{id} as app and as team-app); one must pass.
  const failures: string[] = []
  for (const c of candidates) {
    if (c.validate(body)) return { described: true, errors: [] }
    failures.push(
      ...(c.validate.errors ?? []).map(
        (e) => `${c.href}: ${e.instancePath || '/'} ${e.message ?? ''}`,
      ),
    )
  }
  return { described: true, errors: failures }
}
