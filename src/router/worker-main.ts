/**
 * A router worker process (started by RouterWorkers, workers.ts): one Router on the listeners
 * the cluster primary shares, its table kept up to date by the primary's messages, its log
 * lines sent back in batches. It ends with the primary: on `stop`, or when the channel to the
 * primary closes (the daemon died, even by kill -9).
 */
import { Router } from './router.js'
import type { FromWorker, ToWorker } from './workers.js'

/** Log lines go back at least this often, and whenever this many have gathered. */
const LOG_FLUSH_MS = 20
const LOG_BATCH = 256

const send = (message: FromWorker) => {
  if (process.connected) process.send!(message)
}

let router: Router | undefined
let lines: Array<[string, string]> = []
let flushTimer: NodeJS.Timeout | undefined

function flushLogs(): void {
  if (flushTimer) clearTimeout(flushTimer)
  flushTimer = undefined
  if (lines.length === 0) return
  send({ t: 'logs', lines })
  lines = []
}

function log(appId: string, text: string): void {
  lines.push([appId, text])
  if (lines.length >= LOG_BATCH) flushLogs()
  else flushTimer ??= setTimeout(flushLogs, LOG_FLUSH_MS)
}

async function stop(): Promise<void> {
  await router?.close()
  flushLogs()
  send({ t: 'stopped' })
  process.disconnect?.()
  process.exit(0)
}

process.on('message', (m: ToWorker) => {
  const table = router?.table
  switch (m.t) {
    case 'start':
      router = new Router({ ...m.options, log, warn: (text) => send({ t: 'warn', text }) })
      router.start().then(
        () => send({ t: 'ready', addresses: router!.addresses() }),
        (e: Error) => {
          send({ t: 'failed', message: e.message })
          process.exit(1)
        },
      )
      break
    case 'app':
      table?.setApp(m.app)
      break
    case 'removeApp':
      table?.removeApp(m.appId)
      break
    case 'dynos':
      table?.setDynos(m.appId, m.dynos, m.crashed)
      break
    case 'space':
      table?.setSpace(m.space)
      break
    case 'removeSpace':
      table?.removeSpace(m.spaceId)
      break
    case 'applied?':
      send({ t: 'applied', seq: m.seq })
      break
    case 'stop':
      void stop()
      break
  }
})

send({ t: 'hello' })

// The primary is gone (its channel closed): nothing can reach this worker's routes any more.
process.on('disconnect', () => process.exit(0))
// A terminal's Ctrl-C reaches the daemon's whole process group, and a service manager may
// SIGTERM every process of the daemon: a worker stops when the primary asks (its last log
// lines sent) or is gone, not before; else the primary would see it die and start another.
process.on('SIGINT', () => undefined)
process.on('SIGTERM', () => undefined)
