/**
 * bench/router/ranges.ts: what admitting a client costs with a ruleset of 1 and of 10,000
 * trusted ranges (TrustedRanges.admits, the lookup every request makes), in nanoseconds. The
 * side-by-side runs of run.sh cannot resolve a cost this small: run-to-run noise there is
 * several per cent of a request that takes tens of microseconds.
 *
 *   node --import tsx bench/router/ranges.ts [--ranges 10000]
 */
import { parseArgs } from 'node:util'
import { clientIpv4, TrustedRanges } from '../../src/router/index.js'
import { benchRules } from './rules.js'

const { values } = parseArgs({ options: { ranges: { type: 'string', default: '10000' } } })
const CALLS = 10_000_000
// Sources that hit the allow-all, an allowed /24, a denied /24 and nothing.
const sources = ['127.0.0.1', '11.3.7.9', '11.0.10.1', '198.51.100.7'].map((a) => clientIpv4(a)!)

let admitted = 0
for (const n of [1, Number(values.ranges)]) {
  const trusted = new TrustedRanges(benchRules(n))
  for (let i = 0; i < CALLS / 10; i++) if (trusted.admits(sources[i & 3]!)) admitted++ // warm-up
  const start = process.hrtime.bigint()
  for (let i = 0; i < CALLS; i++) if (trusted.admits(sources[i & 3]!)) admitted++
  const ns = Number(process.hrtime.bigint() - start) / CALLS
  console.log(`${n} range${n === 1 ? '' : 's'}: ${ns.toFixed(1)} ns per admission check`)
}
if (admitted === 0) throw new Error('nothing was admitted: the rules are not what this measures')
