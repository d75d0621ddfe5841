/**
 * The anchor of the API benchmark: the cost of HTTP + JSON alone on the same Node and Fastify.
 * It answers the same routes with the same bodies as the daemon, and does nothing else: no
 * authentication, no store, no durability.
 *
 *   GET   /apps/:app              the app JSON the daemon gave for the first seeded app
 *   PATCH /apps/:app/config-vars  parses the JSON body, merges it into an in-memory map of that
 *                                 app's config vars and answers the whole map (same shape and
 *                                 size as the daemon's answer)
 *
 *   node --import tsx bench/api/anchor.ts --listen 127.0.0.1:0 --app app.json --config cv.json
 *
 * Prints `anchor listening on http://HOST:PORT` when ready; SIGTERM stops it.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import Fastify from 'fastify'

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: '127.0.0.1:0' },
    app: { type: 'string' },
    config: { type: 'string' },
  },
})
if (!values.app || !values.config) {
  console.error('usage: anchor.ts --listen HOST:PORT --app APP.json --config CONFIG.json')
  process.exit(2)
}
const appBody = JSON.parse(readFileSync(values.app, 'utf8')) as Record<string, unknown>
const seedConfig = JSON.parse(readFileSync(values.config, 'utf8')) as Record<string, string>
const [host = '127.0.0.1', port = '0'] = values.listen.split(/:(?=\d+$)/)

const configs = new Map<string, Record<string, string>>()
const server = Fastify({ logger: false })
server.addContentTypeParser(
  'application/vnd.heroku+json',
  { parseAs: 'string' },
  server.getDefaultJsonParser('error', 'ignore'),
)
server.get<{ Params: { app: string } }>('/apps/:app', async () => appBody)
server.patch<{ Params: { app: string }; Body: Record<string, string | null> }>(
  '/apps/:app/config-vars',
  async (request) => {
    const config = { ...(configs.get(request.params.app) ?? seedConfig) }
    for (const [k, v] of Object.entries(request.body)) {
      if (v === null) delete config[k]
      else config[k] = v
    }
    configs.set(request.params.app, config)
    return config
  },
)

await server.listen({ host, port: Number(port) })
const address = server.server.address()
const bound = typeof address === 'object' && address ? address.port : Number(port)
console.log(`anchor listening on http://${host}:${bound}`)
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0))
})
