/**
 * bench/router: the localspace router alone, fed one app with one dyno (the upstream under
 * test) and a ruleset of `--ranges` trusted ranges, as the daemon would feed it; in this
 * process, or in `--workers N` worker processes (RouterWorkers, as `--router-workers N`).
 *
 *   node --import tsx bench/router/server.ts --listen 127.0.0.1:9100 --upstream 127.0.0.1:9001 \
 *     [--ranges 10000] [--workers 2]
 *
 * Prints `router listening on HOST:PORT` when ready. Router log lines are formatted (their
 * cost is part of the measurement) and counted, not stored.
 */
import { parseArgs } from 'node:util'
import { Router, RouterWorkers, type RouterService } from '../../src/router/index.js'
import { benchRules } from './rules.js'

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: '127.0.0.1:9100' },
    upstream: { type: 'string', default: '127.0.0.1:9001' },
    ranges: { type: 'string', default: '1' },
    workers: { type: 'string', default: '0' },
  },
})
const [host, port] = values.listen.split(':') as [string, string]
const [upHost, upPort] = values.upstream.split(':') as [string, string]

let lines = 0
const options = {
  domain: 'localhost',
  listen: [{ host, port: Number(port) }],
  log: () => {
    lines++
  },
}
const workers = Number(values.workers)
const router: RouterService =
  workers > 0 ? new RouterWorkers({ ...options, workers }) : new Router(options)
router.routes.setSpace({
  id: 'space-1',
  cidr: '10.0.0.0/16',
  internalAddress: '10.0.0.3',
  rules: benchRules(Number(values.ranges)),
})
router.routes.setApp({ id: 'app-1', name: 'bench', spaceId: 'space-1', internalRouting: false })
router.routes.setDynos('app-1', [{ name: 'web.1', address: upHost, port: Number(upPort) }])
await router.start()
console.log(`router listening on ${host}:${router.addresses()[0]!.port}`)
const stop = () => {
  console.log(`router log lines: ${lines}`)
  void router.close().then(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
