/** `doctor`: what the daemon sees wrong with the host, in words a person can act on. */
import type { Command } from 'commander'
import { act, withJson, type CliDeps, type JsonFlag } from '../context.js'

interface HealthCheck {
  name: string
  ok: boolean
  detail: string
}

export function registerDoctorCommands(program: Command, deps: CliDeps): void {
  withJson(program.command('doctor'))
    .description('check the host: system packages, privileges, networks and firewall drift')
    .action(
      act(deps, async (flags: JsonFlag) => {
        const { checks } = await deps.client().get<{ checks: HealthCheck[] }>('/localspace/doctor')
        if (flags.json) return deps.out.json(checks)
        for (const c of checks) deps.out.line(`${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`)
        const failed = checks.filter((c) => !c.ok).length
        deps.out.line()
        deps.out.line(failed === 0 ? 'Everything looks right.' : `${failed} problem(s) found.`)
        if (failed > 0) process.exitCode = 1
      }),
    )
}
