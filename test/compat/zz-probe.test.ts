import { test } from 'node:test'
import { startCompat } from '/work/wt/compat/test/compat/harness.js'
test('probe', { timeout: 600000 }, async () => {
  const c = await startCompat()
  try {
    await c.api('POST', '/teams', { name: 'pteam' })
    await c.api('POST', '/accounts', { email: 'bob@example.com' })
    await c.api('POST', '/spaces', { name: 'pspace', team: 'pteam', region: 'tokyo' })
    await c.api('POST', '/teams/apps', { name: 'papp', team: 'pteam' })
    await c.api('POST', '/apps', { name: 'own-app' })
    const cmds = process.env.CMDS!.split(';').map((s) => s.trim().split(/\s+/))
    for (const a of cmds) {
      const n = c.proxy.exchanges.length
      const r = await c.heroku(a)
      console.log(`\n##### heroku ${a.join(' ')} -> ${r.code}\n${r.stdout.slice(0, 600)}\n${r.stderr.slice(0, 600)}`)
      console.log(c.proxy.exchanges.slice(n).map((e) => `${e.method} ${e.path} ${e.status}`).join('\n'))
    }
  } finally { await c.stop() }
})
