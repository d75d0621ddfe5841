/**
 * Heroku's wire shapes of `addon-service`, `plan`, `add-on` and `add-on-attachment`, with the
 * two header conventions the CLI relies on: `Accept-Expansion: addon_service,plan` (the add-on's
 * service and plan as whole objects, not just {id, name}) and `Accept-Inclusion:
 * addon:plan,config_vars` (an attachment's add-on with its plan, and the attachment's config
 * var names: the pg commands find databases by them).
 */
import type { FastifyRequest } from 'fastify'
import {
  findPlan,
  findService,
  type AddonPlan,
  type AddonService,
} from '../core/addon-catalogue.js'
import { attachmentConfigVar, type Addon, type AddonAttachment } from '../core/addons.js'
import type { Store } from '../store/store.js'
import { CATALOGUE_DATE, CEDAR, FIR } from './serializers.js'

export const addonServiceJson = (s: AddonService) => ({
  cli_plugin_name: null,
  created_at: CATALOGUE_DATE,
  human_name: s.humanName,
  id: s.id,
  name: s.name,
  state: 'ga',
  supports_multiple_installations: true,
  supports_sharing: true,
  updated_at: CATALOGUE_DATE,
  supported_generations: [CEDAR, FIR],
})

/** Free: the operator runs the servers on their own hosts. */
const PRICE = { cents: 0, contract: false, unit: 'month' }

export const planJson = (p: AddonPlan) => ({
  addon_service: { id: p.service.id, name: p.service.name },
  created_at: CATALOGUE_DATE,
  compliance: null,
  default: p.isDefault,
  description: p.description,
  human_name: p.humanName,
  id: p.id,
  installable_inside_private_network: true,
  installable_outside_private_network: false,
  name: p.name,
  price: PRICE,
  space_default: p.isDefault,
  state: 'public',
  updated_at: CATALOGUE_DATE,
  visible: true,
})

/** What the request's Accept-Expansion / Accept-Inclusion headers ask for. */
export interface Shape {
  expandService: boolean
  expandPlan: boolean
  includePlan: boolean
  includeConfigVars: boolean
}

const headerList = (v: string | string[] | undefined) =>
  new Set(
    String(v ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )

export function shapeOf(request: FastifyRequest): Shape {
  const expansion = headerList(request.headers['accept-expansion'])
  const inclusion = headerList(request.headers['accept-inclusion'])
  return {
    expandService: expansion.has('addon_service'),
    expandPlan: expansion.has('plan'),
    includePlan: inclusion.has('addon:plan'),
    includeConfigVars: inclusion.has('config_vars'),
  }
}

/** Heroku has three states; failed and being-removed add-ons are `deprovisioned` there. */
const wireState = (a: Addon) =>
  a.state === 'provisioning' || a.state === 'provisioned' ? a.state : 'deprovisioned'

const identity = (x: { id: string; name: string }) => ({ id: x.id, name: x.name })

export function addonJson(store: Store, a: Addon, shape?: Shape) {
  const service = findService(a.serviceName)!
  const plan = findPlan(a.planName)!
  const app = { id: a.appId, name: a.appName }
  return {
    actions: [],
    addon_service: shape?.expandService ? addonServiceJson(service) : identity(service),
    billing_entity: { ...app, type: 'app' },
    app,
    billed_price: PRICE,
    // The config vars the add-on gives its own app.
    config_vars: store.addons
      .attachmentsOfAddon(a.id)
      .filter((t) => t.appId === a.appId)
      .map((t) => attachmentConfigVar(t.name)),
    created_at: a.createdAt,
    id: a.id,
    name: a.name,
    plan: shape?.expandPlan ? planJson(plan) : identity(plan),
    provider_id: a.id,
    state: wireState(a),
    updated_at: a.updatedAt,
    web_url: null,
  }
}

export function attachmentJson(t: AddonAttachment, addon: Addon, shape?: Shape) {
  return {
    addon: {
      id: addon.id,
      name: addon.name,
      app: { id: addon.appId, name: addon.appName },
      ...(shape?.includePlan && { plan: identity(findPlan(addon.planName)!) }),
    },
    app: { id: t.appId, name: t.appName },
    created_at: t.createdAt,
    id: t.id,
    name: t.name,
    namespace: t.namespace,
    updated_at: t.updatedAt,
    web_url: null,
    log_input_url: null,
    ...(shape?.includeConfigVars && { config_vars: [attachmentConfigVar(t.name)] }),
  }
}
