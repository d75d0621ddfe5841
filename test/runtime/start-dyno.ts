/**
 * Stands in for a daemon in the dyno tests: starts one dyno from the JSON spec in argv[2],
 * prints `{"pid":…}` and then idles until it is killed (the test kills it with SIGKILL to show
 * that the dyno outlives it).
 */
import { defaultHost, DynoProcess, type DynoSpec } from '../../src/runtime/index.js'

const spec = JSON.parse(process.argv[2] ?? '{}') as DynoSpec
const dyno = await DynoProcess.start(spec, await defaultHost())
process.stdout.write(JSON.stringify({ pid: dyno.pid }) + '\n')
setInterval(() => undefined, 1 << 30)
