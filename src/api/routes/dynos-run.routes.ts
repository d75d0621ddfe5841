/**
 * One-off dynos (`heroku run`, `heroku run:detached`): `POST /apps/{app}/dynos` and the
 * rendezvous an attached one's client connects to.
 *
 * The rendezvous is the API listener itself: `GET /localspace/rendezvous/<token>` with
 * `Connection: Upgrade` (any `Upgrade` protocol name; `tcp` as Heroku's clients send it) is
 * answered `101 Switching Protocols`, after which the connection is a raw byte stream: what
 * the client sends is the dyno's stdin (its half-close is end-of-file), what it receives is
 * the dyno's stdout and stderr, ended by the line `\uFFFF heroku-command-exit-status: N` and
 * the close. The token is unguessable, single-use and short-lived; it is the credential.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { errors, PlatformError } from '../../core/errors.js'
import { PROCESS_TYPE } from '../../core/names.js'
import { defaultSize, resolveSize } from '../../platform/formation.js'
import { findApp } from '../access.js'
import { dynoJson } from '../serializers.js'

export const RENDEZVOUS_PATH = '/localspace/rendezvous/'
/** Heroku's limit for `time_to_live` (24 h). */
export const MAX_TIME_TO_LIVE = 86_400

interface RunBody {
  command: string
  attach?: boolean | null
  env?: Record<string, string | number | boolean | null> | null
  force_no_tty?: boolean | null
  size?: string | null
  type?: string | null
  time_to_live?: number | null
}

export function dynosRunRoutes(app: FastifyInstance): void {
  const { store, runtime, logs } = app.ctx

  app.post<{ Params: { app: string }; Body: RunBody }>(
    '/apps/:app/dynos',
    {
      schema: {
        body: {
          type: 'object',
          required: ['command'],
          properties: {
            command: { type: 'string' },
            attach: { type: ['boolean', 'null'] },
            // The heroku CLI sends COLUMNS and LINES as numbers at a terminal.
            env: {
              type: ['object', 'null'],
              additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
            },
            force_no_tty: { type: ['boolean', 'null'] },
            size: { type: ['string', 'null'] },
            type: { type: ['string', 'null'] },
            time_to_live: { type: ['integer', 'null'] },
          },
        },
      },
    },
    async (request, reply) => {
      const target = findApp(store, request.account, request.params.app)
      const body = request.body
      const command = body.command.trim()
      if (command === '') throw errors.invalidParams('Command must not be empty.')
      const type = body.type ?? 'run'
      if (!PROCESS_TYPE.test(type))
        throw errors.invalidParams(`Invalid process type ${JSON.stringify(type)}.`)
      const env: Record<string, string> = {}
      for (const [name, value] of Object.entries(body.env ?? {})) {
        if (!/^\w+$/.test(name))
          throw errors.invalidParams(`Invalid environment variable name ${JSON.stringify(name)}.`)
        if (value !== null) env[name] = String(value)
      }
      const ttl = body.time_to_live ?? undefined
      if (ttl !== undefined && (ttl < 1 || ttl > MAX_TIME_TO_LIVE))
        throw errors.invalidParams(`time_to_live must be from 1 to ${MAX_TIME_TO_LIVE} seconds.`)
      if (!target.spaceId)
        throw errors.invalidParams(
          `One-off dynos run only in Private Spaces: ${target.name} is not in a space.`,
        )
      const size =
        body.size === undefined || body.size === null
          ? (store.releases.formation(target.id).find((f) => f.type === type)?.size ??
            defaultSize(target))
          : resolveSize(body.size, target)
      const release = store.releases.current(target.id)
      if (!release?.slugId)
        throw errors.invalidParams(
          `${target.name} has no release with code yet: deploy it first, then run commands.`,
        )
      if (!runtime.runOneOff)
        throw new PlatformError('service_unavailable', 503, 'This server runs no dynos.')
      const attach = body.attach === true
      const dyno = await runtime.runOneOff(target.id, {
        command,
        attach,
        type,
        size,
        env,
        ...(ttl !== undefined && { timeToLive: ttl }),
      })
      logs.append(target.id, {
        source: 'heroku',
        dyno: 'api',
        text: `Starting process with command \`${command}\` by user ${request.account.email}`,
      })
      const base = app.ctx.apiUrl.replace(/\/+$/, '')
      return reply.code(201).send({
        ...dynoJson(dyno, target),
        attach_url:
          dyno.rendezvousToken === undefined
            ? null
            : `${base}${RENDEZVOUS_PATH}${dyno.rendezvousToken}`,
      })
    },
  )

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0] ?? ''
    if (!path.startsWith(RENDEZVOUS_PATH)) {
      // Not ours; with nobody else listening, Node would have closed it.
      if (app.server.listenerCount('upgrade') === 1) socket.destroy()
      return
    }
    const token = path.slice(RENDEZVOUS_PATH.length)
    const attach = /^[\w-]{16,128}$/.test(token) ? runtime.rendezvous?.(token) : undefined
    if (!attach) {
      const body = JSON.stringify({
        id: 'not_found',
        message: 'No dyno is waiting at this rendezvous (it was used, or has expired).',
      })
      socket.on('error', () => undefined)
      socket.end(
        'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
      return
    }
    const protocol = String(req.headers.upgrade ?? 'tcp').replace(/[^\w./-]/g, '') || 'tcp'
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n\r\n`,
    )
    if (head.length > 0) socket.unshift(head)
    const s = socket as Duplex & { setTimeout?: (ms: number) => void; setNoDelay?: () => void }
    s.setTimeout?.(0)
    s.setNoDelay?.()
    attach(socket)
  })
}
