/**
 * Parts of the Platform API that localspace does not have yet: the data API's operations beyond
 * info, credentials, unfollow and backups, Heroku Exec, `run:inside`, space transfers and
 * automated certificates (ACM). They answer 501 `not_implemented` naming the missing part, so
 * `heroku pg:settings`, `heroku ps:exec` … say what is missing instead of a bare 404
 * route error. Apps and spaces are looked up first: one the caller cannot see is still a 404.
 */
import type { FastifyInstance, HTTPMethods } from 'fastify'
import { errors } from '../../core/errors.js'
import { findApp, findSpace } from '../access.js'

const EXEC =
  'Heroku Exec (ps:exec, ps:copy, ps:forward, ps:socks) is not available in localspace: start a one-off dyno with heroku run instead; see docs/heroku-compat.md.'
const RUN_INSIDE =
  'Running a command inside an existing dyno (run:inside) is not available in localspace: start a one-off dyno with heroku run instead; see docs/heroku-compat.md.'
const SPACE_TRANSFER =
  'Moving a space to another team is not available in localspace: create a space in that team (heroku spaces:create --team TEAM) and deploy the apps there; see docs/heroku-compat.md.'
const ACM =
  'Automated Certificate Management is not available in localspace: add your own certificate with heroku certs:add CERT KEY; see docs/heroku-compat.md.'

const DATA_OTHER =
  'This Heroku Postgres / Key-Value Store operation (pg:reset, pg:settings, pg:diagnose, …) is not available in localspace: see docs/heroku-compat.md.'

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

  // The CLI's Exec commands read this feature first (lib/ps-exec/exec.js); it is not among the
  // app features localspace offers, so the plain route would answer "Couldn't find that feature."
  refuse(['GET', 'PATCH'], ['/apps/:app/features/runtime-heroku-exec'], EXEC)
  refuse(['POST'], ['/apps/:app/dynos/:dyno'], RUN_INSIDE)
  refuse(['POST'], ['/spaces/:space/transfer'], SPACE_TRANSFER)
  // Only the changes: `certs:auto` reads the app's `acm` flag (false), not this path.
  refuse(['POST', 'PATCH', 'DELETE'], ['/apps/:app/acm'], ACM)
  // `pg:*` and `redis:*` talk to Heroku's data API host; with HEROKU_DATA_HOST pointing at this
  // daemon's host they ask here. What is built is data-api.routes.ts and backups.routes.ts.
  refuse(ALL, ['/client/v11/*', '/postgres/v0/*', '/redis/v0/*'], DATA_OTHER)
}
