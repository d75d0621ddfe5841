/** The trusted-range rulesets bench/router measures with (server.ts, ranges.ts). */
import type { InboundRule } from '../../src/router/index.js'

/** `n` rules: allow loopback (the load generator) plus n-1 other /24s, with a few denies. */
export function benchRules(n: number): InboundRule[] {
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
