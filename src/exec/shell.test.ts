import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { after, describe, test } from 'node:test'
import { sandboxed } from '../../test/helpers/sandbox.js'
import { ExecError, run } from './run.js'
import { startExecRunner } from './runner.js'
import { openLocalShell, PipeShell, spawnTool, type OpenShell, type StartTool } from './shell.js'

const linkExists = async (name: string, netns?: string) => {
  const args = [...(netns ? ['-n', netns] : []), 'link', 'show', 'dev', name]
  return run('ip', args).then(
    () => true,
    () => false,
  )
}

const RUNNER = fileURLToPath(new URL('./runner.ts', import.meta.url))

if (sandboxed(import.meta.url)) {
  const runner = startExecRunner()
  after(() => runner.close())

  for (const [where, openShell, startTool] of [
    ['in this process', openLocalShell, spawnTool],
    ['started by the exec runner', runner.openShell, runner.startTool],
  ] as Array<[string, OpenShell, StartTool]>) {
    describe(`shells ${where}`, () => {
      const tag = where.includes('runner') ? 'r' : 'l'

      test('an ip shell runs scripts one after another in one process', async () => {
        const shell = openShell({ tool: 'ip' })
        try {
          await shell.run(`link add lst-${tag}1 type bridge\nlink set lst-${tag}1 up`)
          assert.ok(await linkExists(`lst-${tag}1`))
          await shell.run(`link del lst-${tag}1`)
          assert.equal(await linkExists(`lst-${tag}1`), false)
        } finally {
          shell.close()
        }
      })

      test("an ip shell rejects with the tool's message and keeps working", async () => {
        const shell = openShell({ tool: 'ip' })
        try {
          await assert.rejects(shell.run('addr add 198.51.100.1/24 dev lst-nope'), (e) => {
            assert.ok(e instanceof ExecError)
            assert.match(e.stderr, /Cannot find device "lst-nope"/)
            return true
          })
          await shell.run(`link add lst-${tag}2 type bridge`)
          assert.ok(await linkExists(`lst-${tag}2`))
          await shell.run(`link del lst-${tag}2`)
        } finally {
          shell.close()
        }
      })

      test('an ip shell works inside a named namespace', async () => {
        const netns = `lst-ns-${tag}`
        await run('ip', ['netns', 'add', netns])
        const shell = openShell({ tool: 'ip', netns })
        try {
          await shell.run('link add lst-in type bridge')
          assert.ok(await linkExists('lst-in', netns))
          assert.equal(await linkExists('lst-in'), false, 'made in the namespace, not the host')
        } finally {
          shell.close()
          await run('ip', ['netns', 'del', netns])
        }
      })

      test('an nft shell applies each script as a transaction and reports errors', async () => {
        const shell = openShell({ tool: 'nft' })
        try {
          await shell.run('add table inet lst_shell; add set inet lst_shell s { type ipv4_addr; }')
          await shell.run('add element inet lst_shell s { 198.51.100.7 }')
          const listed = await run('nft', ['list', 'set', 'inet', 'lst_shell', 's'])
          assert.match(listed.stdout, /198\.51\.100\.7/)
          await assert.rejects(
            shell.run('add element inet lst_shell nope { 198.51.100.8 }'),
            (e) => {
              assert.ok(e instanceof ExecError)
              assert.match(e.stderr, /No such file or directory/)
              return true
            },
          )
          await shell.run('delete table inet lst_shell')
        } finally {
          shell.close()
        }
      })

      test('a JSON nft shell reads what the kernel holds now, and reports errors', async () => {
        const table = `lst_read_${tag}`
        const shell = openShell({ tool: 'nft-json' })
        const elements = async () => {
          const [line, ...more] = await shell.read(`list set inet ${table} s`)
          assert.equal(more.length, 0, 'one listing, one line')
          type Item = { set?: { elem?: string[] } }
          const items = (JSON.parse(line!) as { nftables: Item[] }).nftables
          return items.find((i) => i.set)?.set?.elem ?? []
        }
        try {
          await run('nft', ['-f', '-'], {
            input: `add table inet ${table}\nadd set inet ${table} s { type ipv4_addr; }\n`,
          })
          assert.deepEqual(await elements(), [])
          // Changed by another process: the long-lived one does not answer from a stale cache.
          await run('nft', ['add', 'element', 'inet', table, 's', '{ 198.51.100.9 }'])
          assert.deepEqual(await elements(), ['198.51.100.9'])
          await assert.rejects(shell.read(`list set inet ${table} nope`), (e) => {
            assert.ok(e instanceof ExecError)
            assert.match(e.stderr, /No such file or directory/)
            return true
          })
        } finally {
          shell.close()
          await run('nft', ['-f', '-'], {
            input: `table inet ${table}\ndelete table inet ${table}\n`,
          })
        }
      })

      test('a tool that exits fails the script it was given; the next one gets a new tool', async () => {
        const shell = openShell({ tool: 'nft' })
        try {
          await assert.rejects(shell.run('quit'), /exited before finishing its script/)
          await shell.run(`add table inet lst_again_${tag}`)
          await shell.run(`delete table inet lst_again_${tag}`)
        } finally {
          shell.close()
        }
      })

      test('a stuck script is killed after the timeout, and the shell works again', async () => {
        const shell = new PipeShell({ tool: 'ip' }, startTool, 500)
        try {
          // `ip monitor` never returns: the sentinel after it is never read.
          await assert.rejects(shell.run('monitor link'), /exited before finishing/)
          await shell.run(`link add lst-${tag}3 type bridge`)
          assert.ok(await linkExists(`lst-${tag}3`))
          await shell.run(`link del lst-${tag}3`)
        } finally {
          shell.close()
        }
      })
    })
  }

  test('the runner runs commands and reports failures as ExecError', async () => {
    const ok = await runner.exec('ip', ['-o', 'link', 'show', 'dev', 'lo'])
    assert.match(ok.stdout, /^1: lo:/)
    await assert.rejects(runner.exec('ip', ['link', 'show', 'dev', 'lst-none']), (e) => {
      assert.ok(e instanceof ExecError)
      assert.equal(e.cmd, 'ip')
      assert.match(e.stderr, /does not exist/)
      return true
    })
    const input = await runner.exec('cat', [], { input: 'through stdin' })
    assert.equal(input.stdout, 'through stdin')
  })

  test('a daemon killed while pipes are being handed over leaves no runner and no tool', async () => {
    // The "daemon" asks for a shell, then blocks its event loop so that the pipes the runner
    // hands over are never acknowledged, and is killed meanwhile.
    const daemon = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { startExecRunner } = await import(${JSON.stringify(RUNNER)})
        const runner = startExecRunner()
        await runner.exec('true', []) // the runner is up
        runner.openShell({ tool: 'nft' })
        setImmediate(() => {
          // The request went out; the runner's answer (the pipes) is never acknowledged.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000)
          process.kill(process.pid, 'SIGKILL')
        })`,
      ],
      { stdio: 'ignore' },
    )
    const children = (pid: number) =>
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((d) => {
          try {
            const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
            return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid
          } catch {
            return false // gone meanwhile
          }
        })
        .map(Number)
    const alive = (pid: number) => existsSync(`/proc/${pid}`)
    const seen = new Set<number>()
    let gone = false
    daemon.on('exit', () => (gone = true))
    // Every process under the daemon while it lives: the runner, and the nft it started.
    while (!gone) {
      for (const runnerPid of children(daemon.pid!)) {
        seen.add(runnerPid)
        for (const tool of children(runnerPid)) seen.add(tool)
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.ok(seen.size >= 2, `saw the runner and its tool: ${[...seen].join(', ')}`)
    const deadline = Date.now() + 5000
    while ([...seen].some(alive) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    assert.deepEqual([...seen].filter(alive), [], 'nothing outlives the daemon')
  })
}
