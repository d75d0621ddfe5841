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
import {
  Router,
  RouterWorkers,
  type InboundRule,
  type RouterService,
} from '../../src/router/index.js'

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

/** `n` rules: allow loopback (the load generator) plus n-1 other /24s, with a few denies. */
function rules(n: number): InboundRule[] {
  const out: InboundRule[] = [{ action: 'allow', source: '127.0.0.0/8' }]
  for (let i = 1; i < n; i++) {
    const a = 11 + (i >> 16)
    out.push({
      action: i % 10 === 0 ? 'deny' : 'allow',
      source: `${a}.${(i >> 8) & 255}.${i & 255}.0/24`,
    })
  }
  return out
}

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
  rules: rules(Number(values.ranges)),
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
