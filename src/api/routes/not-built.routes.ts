/**
 * Parts of the Platform API that localspace does not have yet: add-ons (and with them Heroku
 * Postgres and Key-Value Store, which the CLI reaches through add-ons first), VPN connections
 * and peering. They answer 501 `not_implemented` naming the missing part, so `heroku addons:create`,
 * `heroku pg:info`, `heroku spaces:vpn:connect` … say what is missing instead of a bare 404
 * route error. Apps and spaces are looked up first: one the caller cannot see is still a 404.
 * (`GET /apps/{app}/addons` answers an empty list: an app here has none, and `apps:info` asks.)
 */
import type { FastifyInstance, HTTPMethods } from 'fastify'
import { errors } from '../../core/errors.js'
import { findApp, findSpace } from '../access.js'

const ADDONS =
  'Add-ons are not available in localspace yet: data services (Postgres, Key-Value Store) come later; see docs/heroku-compat.md.'
const VPN = 'VPN connections are not available in localspace yet: see docs/heroku-compat.md.'
const PEERING =
  'Peering is not available in localspace: spaces are networks on this host, not AWS VPCs to peer with; see docs/heroku-compat.md.'

const ALL: HTTPMethods[] = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE']

export function notBuiltRoutes(app: FastifyInstance): void {
  const { store } = app.ctx

  const refuse = (methods: HTTPMethods[], urls: string[], message: string) => {
    for (const url of urls) {
      app.route<{ Params: { app?: string; space?: string } }>({
        method: methods,
        url,
        handler: async (request) => {
          const { app: appName, space } = request.params
          if (appName !== undefined) findApp(store, request.account, appName)
          if (space !== undefined) findSpace(store, request.account, space)
          throw errors.notImplemented(message)
        },
      })
    }
  }

  refuse(['POST'], ['/apps/:app/addons'], ADDONS)
  refuse(
    ALL,
    [
      '/apps/:app/addons/:addon',
      '/apps/:app/addon-attachments',
      '/apps/:app/addon-attachments/:attachment',
      '/addons',
      '/addons/:addon',
      '/addons/:addon/addon-attachments',
      '/addon-attachments',
      '/addon-attachments/:attachment',
      '/addon-services',
      '/addon-services/:service',
      '/addon-services/:service/plans',
      '/addon-services/:service/plans/:plan',
      '/actions/addons/resolve',
      '/actions/addon-attachments/resolve',
    ],
    ADDONS,
  )
  refuse(ALL, ['/spaces/:space/vpn-connections', '/spaces/:space/vpn-connections/:connection'], VPN)
  refuse(
    ALL,
    ['/spaces/:space/peering-info', '/spaces/:space/peerings', '/spaces/:space/peerings/:peering'],
    PEERING,
  )
}
