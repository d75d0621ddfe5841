/**
 * Ctrl-C in the terminal that runs the daemon (scripts/quickstart) sends SIGINT to its whole
 * process group: the daemon, its exec runner, the runner's `ip`/`nft` shells and the router
 * workers alike; a service manager stopping the daemon may signal them all with SIGTERM. Either
 * way the shutdown is the daemon's own: exit status 0, nothing alarming printed, and no
 * process of it left behind.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, describe, test } from 'node:test'
import { createSpaceApp, freePort, startDaemonProcess, tempDataDir } from '../helpers/daemon.js'
import { descendantsOf, isRunning } from '../helpers/processes.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

// Starts real daemons, which manage the host's network: in a sandbox of its own.
if (sandboxed(import.meta.url)) {
  describe('the daemon stopped by a signal to its whole process group', () => {
    const data = tempDataDir()
    after(() => data.remove())

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      test(`${signal} to the group: exit 0, quietly, nothing left running`, async () => {
        const d = await startDaemonProcess(
          data.dir,
          await freePort(),
          ['--router-workers', '2', '--router-listen', `127.0.0.1:${await freePort()}`],
          undefined,
          { processGroup: true },
        )
        try {
          // A space, so that the network agent's `ip` and `nft` shells have work to do.
          if (signal === 'SIGINT') {
            await createSpaceApp(d, { team: 'group-team', space: 'group-space', app: 'group-app' })
          }
          const below = descendantsOf(d.child.pid!)
          const has = (re: RegExp) => below.some((p) => re.test(p.cmdline))
          assert.ok(has(/runner-process/), 'the exec runner runs')
          assert.ok(has(/^(ip|nft) /), 'a shell tool runs')
          assert.ok(has(/worker-main/), 'router workers run')

          const exited = once(d.child, 'exit')
          process.kill(-d.child.pid!, signal)
          const [code, bySignal] = (await exited) as [number | null, string | null]
          const output = d.output()
          assert.equal(bySignal, null, output)
          assert.equal(code, 0, output)
          assert.doesNotMatch(output, /shutdown failed/)
          assert.doesNotMatch(output, /\n\s+at /, 'no stack trace')
          assert.doesNotMatch(output, /exited \(SIG/, 'no helper process died of the signal')
          await waitUntil(
            'every process of the daemon to end',
            () => below.every((p) => !isRunning(p)),
            { timeoutMs: 10_000 },
          )
        } finally {
          await d.stop('SIGKILL')
        }
      })
    }

    test('an exec runner killed before the shutdown: the daemon still stops cleanly', async () => {
      const d = await startDaemonProcess(data.dir, await freePort())
      try {
        const runner = descendantsOf(d.child.pid!).find((p) => /runner-process/.test(p.cmdline))
        assert.ok(runner, 'the exec runner runs')
        process.kill(runner.pid, 'SIGKILL')
        await waitUntil('the runner to be gone', () => !isRunning(runner))
        const output = () => d.output()
        assert.equal(await d.stop('SIGTERM'), 0, output())
        assert.doesNotMatch(output(), /shutdown failed/)
      } finally {
        await d.stop('SIGKILL')
      }
    })
  })
}
