/** The host's prerequisites, checked for `localspace doctor`: privileges and system packages. */
import type { HealthCheck } from '../core/runtime-view.js'
import { isCommandMissing, type Exec } from '../exec/run.js'

/** Commands the daemon runs, with the Debian package that brings each. */
const TOOLS = [
  { command: 'ip', args: ['-V'], pkg: 'iproute2', why: 'makes bridges and namespaces' },
  { command: 'nft', args: ['--version'], pkg: 'nftables', why: 'enforces the truth table' },
] as const

export async function systemChecks(exec: Exec): Promise<HealthCheck[]> {
  const root = process.getuid?.() === 0
  const checks: HealthCheck[] = [
    {
      name: 'privileges',
      ok: root,
      detail: root ? 'running as root' : 'the daemon must run as root to manage networks',
    },
  ]
  for (const tool of TOOLS) {
    try {
      const { stdout } = await exec(tool.command, tool.args)
      checks.push({ name: tool.pkg, ok: true, detail: stdout.trim().split('\n')[0] ?? '' })
    } catch (e) {
      checks.push({
        name: tool.pkg,
        ok: false,
        detail: isCommandMissing(e)
          ? `\`${tool.command}\` was not found; it ${tool.why}: apt-get install ${tool.pkg}`
          : `\`${tool.command}\` does not work: ${e instanceof Error ? e.message : String(e)}`,
      })
    }
  }
  return checks
}
