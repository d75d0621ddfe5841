/**
 * The test's side of probe-agent.ts: one long-lived agent per namespace (or on the host), a
 * JSON line per command. Shared by the probe matrices (truth-table.netns.test.ts,
 * vpn-gateway.netns.test.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { formatIpv4, parseCidr } from '../../src/core/cidr.js'
import { run } from '../../src/exec/run.js'
import type { AgentReply, ProbeCommand, ServeCommand } from './probe-agent.js'

type ProbeResult = AgentReply
type Server = ServeCommand

const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'probe-agent.ts')

/**
 * The agent as plain JavaScript in `dir`: fifteen agents start in tens of milliseconds each
 * with node alone, where each would spend most of a second in tsx.
 */
export function compileAgent(dir: string): string {
  const { outputText } = ts.transpileModule(readFileSync(AGENT, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  })
  const file = join(dir, 'probe-agent.mjs')
  writeFileSync(file, outputText)
  return file
}

/** One probe-agent.ts process, in a namespace or on the host; commands are JSON lines. */
export class ProbeAgent {
  private nextId = 1
  private readonly pending = new Map<number, (reply: any) => void>()
  private stderr = ''
  private exited = false

  private constructor(
    readonly label: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let reply: any
      try {
        reply = JSON.parse(line)
      } catch {
        return
      }
      const settle = this.pending.get(reply.id)
      if (settle) {
        this.pending.delete(reply.id)
        settle(reply)
      }
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d))
    child.on('exit', () => {
      this.exited = true
      for (const settle of this.pending.values()) {
        settle({ ok: false, error: `agent exited: ${this.stderr}` })
      }
      this.pending.clear()
    })
  }

  /** Starts `script` (the agent as plain JavaScript, see `compileAgent`) in `netns`. */
  static async start(label: string, script: string, netns?: string): Promise<ProbeAgent> {
    const [cmd, args] = netns
      ? ['ip', ['netns', 'exec', netns, process.execPath, script]]
      : [process.execPath, [script]]
    const child = spawn(cmd, args, { stdio: 'pipe' })
    const agent = new ProbeAgent(label, child)
    // A ping proves the agent runs and the pipe works both ways.
    const ready = await agent.request({ ping: true }, 30_000)
    if (!ready.ok) {
      child.kill('SIGKILL')
      throw new Error(`probe agent ${label} did not start: ${ready.error}`)
    }
    return agent
  }

  private request(body: object, timeoutMs: number): Promise<any> {
    if (this.exited) return Promise.resolve({ ok: false, error: `agent exited: ${this.stderr}` })
    const id = this.nextId++
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        resolve({ ok: false, error: 'agent did not answer' })
      }, timeoutMs)
      this.pending.set(id, (reply) => {
        clearTimeout(timer)
        resolve(reply)
      })
      this.child.stdin.write(`${JSON.stringify({ id, ...body })}\n`)
    })
  }

  /** Starts echo servers; throws naming the ones that could not bind. */
  async serve(servers: readonly Server[]): Promise<void> {
    const replies = await Promise.all(servers.map((serve) => this.request({ serve }, 5000)))
    const failed = replies
      .map((r, i) =>
        r.ok
          ? undefined
          : `${servers[i]!.proto} ${servers[i]!.host}:${servers[i]!.port} (${r.error})`,
      )
      .filter((x) => x !== undefined)
    if (failed.length > 0) throw new Error(`${this.label} could not serve ${failed.join(', ')}`)
  }

  probe(command: ProbeCommand): Promise<ProbeResult> {
    return this.request(command, command.timeoutMs + 5000)
  }

  /** The source addresses that UDP datagrams marked `marker` reached this agent from. */
  async received(marker: string): Promise<string[]> {
    const reply = await this.request({ received: marker }, 5000)
    if (!reply.ok) throw new Error(`${this.label}: ${reply.error}`)
    return reply.peers as string[]
  }

  async stop(): Promise<void> {
    if (this.exited) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.stdin.end()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(timer)
  }
}

/** Polls `check` until it returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`)
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

// Host helpers the probe matrices share.

/** The address `n` after the base of `cidr` (`offset('10.0.0.0/16', 3)` = `10.0.0.3`). */
export const offset = (cidr: string, n: number): string => formatIpv4(parseCidr(cidr)!.base + n)

/** Runs a command whose failure means "already gone". */
export const quietly = async (cmd: string, args: string[]): Promise<void> => {
  await run(cmd, args).catch(() => undefined)
}

/** Removes localspace's two nftables tables, if there. */
export async function removeFirewall(): Promise<void> {
  await quietly('nft', ['delete', 'table', 'inet', 'localspace'])
  await quietly('nft', ['delete', 'table', 'bridge', 'localspace'])
}
