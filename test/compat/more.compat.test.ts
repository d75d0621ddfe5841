/**
 * The official `heroku` CLI (11.x) for the commands docs/heroku-compat.md listed as working but
 * unguarded: auth:token, teams, apps:rename/diff/open/lock, maintenance, config:get/edit,
 * releases:output, ps:restart, ps:wait, spaces:drains, domains:clear, certs:update, certs:auto,
 * git:remote and auth:logout, against a real daemon. The harness's proxy checks every body
 * against Heroku's schema.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { selfSigned } from '../helpers/certs.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'
import { loginHome, ok, fails, flat, startCompat, type Compat } from './harness.js'

/** An executable shell script in `dir` (an editor or a browser the CLI starts). */
function script(dir: string, name: string, body: string): string {
  const path = join(dir, name)
  writeFileSync(path, `#!/bin/sh\n${body}\n`)
  chmodSync(path, 0o755)
  return path
}

if (sandboxed(import.meta.url)) {
  describe('heroku auth, teams, apps, config, ps, drains, domains, certs, git:remote', () => {
    const sfx = randomBytes(3).toString('hex')
    const team = `more-${sfx}`
    const space = `more-space-${sfx}`
    const teamApp = `more-app-${sfx}`
    const other = `more-other-${sfx}`
    let c: Compat
    let tools = ''

    before(async () => {
      c = await startCompat()
      tools = join(c.home, 'tools')
      mkdirSync(tools)
      assert.equal((await c.api('POST', '/teams', { name: team })).status, 201)
      assert.equal((await c.api('POST', '/spaces', { name: space, team })).status, 201)
      assert.equal((await c.api('POST', '/teams/apps', { name: teamApp, team })).status, 201)
      assert.equal((await c.api('POST', '/teams/apps', { name: other, team })).status, 201)
    })
    after(async () => {
      await c?.stop()
    })

    test('auth:token prints the API key; teams lists the caller’s teams', async () => {
      const token = ok(await c.heroku(['auth:token']))
      assert.equal(token.stdout.trim(), c.apiKey)
      const teams = ok(await c.heroku(['teams', '--json']))
      const names = (JSON.parse(teams.stdout) as Array<{ name: string; role: string }>).map(
        (t) => `${t.name}:${t.role}`,
      )
      assert.ok(names.includes(`${team}:admin`), teams.stdout)
      const text = ok(await c.heroku(['orgs']))
      assert.match(text.stdout, new RegExp(`^\\s*${team}\\s+admin\\s*$`, 'm'))
      assert.deepEqual(c.proxy.failures, [])
    })

    test('apps:rename and apps:diff; apps:lock is a clear error', async () => {
      const from = `rename-${sfx}`
      const to = `renamed-${sfx}`
      assert.equal((await c.api('POST', '/teams/apps', { name: from, team })).status, 201)
      const renamed = ok(await c.heroku(['apps:rename', to, '-a', from]))
      assert.ok(flat(renamed.stderr).includes(`Renaming ${from} to ${to}... done`), renamed.stderr)
      assert.equal((await c.api('GET', `/apps/${from}`)).status, 404)
      assert.equal((await c.api('GET', `/apps/${to}`)).body.name, to)

      // Access follows team roles: a lock is refused, not reported done and ignored.
      fails(await c.heroku(['apps:lock', '-a', teamApp]), 'localspace does not lock apps')
      assert.equal((await c.api('GET', `/teams/apps/${teamApp}`)).body.locked, false)
      fails(await c.heroku(['apps:unlock', '-a', teamApp]), 'This app is not locked.')

      await c.api('PATCH', `/apps/${teamApp}/config-vars`, { SHARED: 'same', ONLY_ONE: 'x' })
      await c.api('PATCH', `/apps/${other}/config-vars`, { SHARED: 'same' })
      const diff = ok(await c.heroku(['apps:diff', teamApp, other]))
      assert.match(diff.stdout, /ONLY_ONE/)
      assert.doesNotMatch(diff.stdout, /SHARED/)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('maintenance, maintenance:on and maintenance:off', async () => {
      assert.equal(ok(await c.heroku(['maintenance', '-a', teamApp])).stdout.trim(), 'off')
      ok(await c.heroku(['maintenance:on', '-a', teamApp]))
      assert.equal((await c.api('GET', `/apps/${teamApp}`)).body.maintenance, true)
      assert.equal(ok(await c.heroku(['maintenance', '-a', teamApp])).stdout.trim(), 'on')
      ok(await c.heroku(['maintenance:off', '-a', teamApp]))
      assert.equal((await c.api('GET', `/apps/${teamApp}`)).body.maintenance, false)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('config:get and config:edit (with an editor script)', async () => {
      await c.api('PATCH', `/apps/${teamApp}/config-vars`, { COLOR: 'red' })
      assert.equal(ok(await c.heroku(['config:get', 'COLOR', '-a', teamApp])).stdout, 'red\n')
      // The editor the CLI starts on its temp file: changes one value, adds one.
      const editor = script(
        tools,
        'editor.sh',
        `sed -i 's/^COLOR=.*/COLOR=blue/' "$1" && printf '\\nEDITED=yes\\n' >> "$1"`,
      )
      const edited = ok(
        await c.heroku(['config:edit', '-a', teamApp], {
          env: { EDITOR: editor, VISUAL: editor },
          // The confirmation goes to stdout; the answer is typed once the config is fetched.
          answers: [{ prompt: 'Fetching config... done', answer: 'y' }],
        }),
      )
      assert.match(edited.stdout, /Config Diff:/)
      const vars = (await c.api('GET', `/apps/${teamApp}/config-vars`)).body
      assert.equal(vars.COLOR, 'blue', `${edited.stdout}\n${edited.stderr}`)
      assert.equal(vars.EDITED, 'yes')
      assert.equal(vars.SHARED, 'same')
      assert.deepEqual(c.proxy.failures, [])
    })

    test('releases:output of a release without release phase says there is none', async () => {
      const releases = (await c.api('GET', `/apps/${teamApp}/releases`)).body as Array<{
        version: number
      }>
      const latest = Math.max(...releases.map((r) => r.version))
      const out = ok(await c.heroku(['releases:output', '-a', teamApp]))
      assert.ok(
        flat(out.stderr).includes(`Release v${latest} has no release output available.`),
        out.stderr,
      )
      assert.deepEqual(c.proxy.failures, [])
    })

    test('ps:restart reaches the API; unknown dynos and types are a 404; ps:wait', async () => {
      const all = ok(await c.heroku(['ps:restart', '-a', teamApp]))
      assert.ok(flat(all.stderr).includes(`Restarting all dynos on ${teamApp}... done`))
      assert.ok(
        c.proxy.exchanges.some(
          (e) => e.method === 'DELETE' && e.path === `/apps/${teamApp}/dynos` && e.status === 202,
        ),
      )
      fails(
        await c.heroku(['ps:restart', '--dyno-name', 'web.7', '-a', teamApp]),
        `${teamApp} has no dyno web.7`,
      )
      fails(
        await c.heroku(['ps:restart', '--process-type', 'worker', '-a', teamApp]),
        `${teamApp} has no process type worker`,
      )
      // No dynos: every one (none) runs the latest release, so ps:wait returns at once.
      ok(await c.heroku(['ps:wait', '-a', teamApp]))
      assert.deepEqual(c.proxy.failures, [])
    })

    test('spaces:drains:get and spaces:drains:set (HTTPS only)', async () => {
      fails(
        await c.heroku(['spaces:drains:get', '--space', space]),
        'No log drain is set for this space.',
      )
      const url = `https://logs-${sfx}.example.com/drain`
      ok(await c.heroku(['spaces:drains:set', url, '--space', space]))
      const got = ok(await c.heroku(['spaces:drains:get', '--space', space]))
      assert.ok(flat(got.stdout).includes(url), got.stdout)
      const stored = await c.api('GET', `/spaces/${space}/log-drain`)
      assert.equal(stored.body.url, url)
      const bad = await c.heroku([
        'spaces:drains:set',
        'http://logs.example.com/',
        '--space',
        space,
      ])
      assert.notEqual(bad.code, 0)
      assert.match(flat(bad.stderr), /HTTPS/i)
      assert.equal((await c.api('GET', `/spaces/${space}/log-drain`)).body.url, url)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('domains:clear removes every custom domain', async () => {
      for (const host of [`a.${sfx}.example.com`, `b.${sfx}.example.com`]) {
        assert.equal(
          (await c.api('POST', `/apps/${other}/domains`, { hostname: host, sni_endpoint: null }))
            .status,
          201,
        )
      }
      ok(await c.heroku(['domains:clear', '-a', other]))
      const left = (await c.api('GET', `/apps/${other}/domains`)).body as Array<{ kind: string }>
      assert.deepEqual(
        left.map((d) => d.kind),
        ['heroku'],
      )
      assert.deepEqual(c.proxy.failures, [])
    })

    test('certs:update replaces the certificate; certs:auto shows ACM off', async () => {
      const host = `secure.${sfx}.example.com`
      const first = selfSigned([host], 2)
      const added = await c.api('POST', `/apps/${other}/sni-endpoints`, {
        certificate_chain: first.cert,
        private_key: first.key,
      })
      assert.equal(added.status, 201)
      const second = selfSigned([host], 40)
      writeFileSync(join(tools, 'new.crt'), second.cert)
      writeFileSync(join(tools, 'new.key'), second.key)
      const updated = ok(
        await c.heroku([
          'certs:update',
          join(tools, 'new.crt'),
          join(tools, 'new.key'),
          '-a',
          other,
          '--confirm',
          other,
        ]),
      )
      assert.match(flat(updated.stderr), /Updating SSL certificate .* done/)
      const after = await c.api('GET', `/apps/${other}/sni-endpoints/${added.body.id}`)
      assert.equal(String(after.body.certificate_chain).trim(), second.cert.trim())
      assert.notEqual(after.body.ssl_cert.expires_at, added.body.ssl_cert.expires_at)

      const auto = ok(await c.heroku(['certs:auto', '-a', other]))
      assert.ok(
        flat(auto.stdout).includes(`Automatic Certificate Management is disabled on ${other}`),
        auto.stdout,
      )
      assert.deepEqual(c.proxy.failures, [])
    })

    test('apps:open prints the URL and hands it to $BROWSER', async () => {
      const opened = join(tools, 'opened.txt')
      const browser = script(tools, 'browser.sh', `echo "$1" > ${opened}`)
      const web = (await c.api('GET', `/apps/${teamApp}`)).body.web_url as string
      const url = new URL('/health', web).toString()
      const r = ok(
        await c.heroku(['apps:open', '/health', '-a', teamApp], { env: { BROWSER: browser } }),
      )
      assert.ok(flat(r.stdout).includes(`Opening ${url}...`), r.stdout)
      // The opener is started detached: wait for it to have written the URL.
      await waitUntil('the browser script to run', () => existsSync(opened))
      await waitUntil('the URL to be written', () => readFileSync(opened, 'utf8') === `${url}\n`)
    })

    test('git:remote adds the heroku remote for the app', async () => {
      const repo = join(tools, 'repo')
      mkdirSync(repo)
      execFileSync('git', ['init', '-q', repo])
      const remoteUrl = (name: string) =>
        execFileSync('git', ['-C', repo, 'remote', 'get-url', name], { encoding: 'utf8' }).trim()
      // The CLI does not read the app's git_url: it writes https://<HEROKU_HOST's host>/APP.git
      // (or HEROKU_GIT_HOST's). Against a plain-HTTP daemon, `git remote set-url` to git_url.
      const gitHost = new URL(c.apiUrl).host
      ok(await c.heroku(['git:remote', '-a', teamApp], { cwd: repo }))
      assert.equal(remoteUrl('heroku'), `https://${gitHost}/${teamApp}.git`)
      ok(await c.heroku(['git:remote', '-a', other, '-r', 'staging'], { cwd: repo }))
      assert.equal(remoteUrl('staging'), `https://${gitHost}/${other}.git`)
    })

    test('auth:logout forgets the stored login; the CLI is then logged out', async () => {
      const password = readFileSync(join(c.dataDir, 'admin-password'), 'utf8').trim()
      const home = join(tools, 'login')
      const env = loginHome(home)
      const admin = (await c.api('GET', '/account')).body.email as string
      ok(
        await c.heroku(['login', '-i'], {
          env,
          answers: [
            { prompt: 'Email', answer: admin },
            { prompt: 'Password', answer: password },
          ],
        }),
      )
      assert.equal(ok(await c.heroku(['auth:whoami'], { env })).stdout.trim(), admin)
      const logout = ok(await c.heroku(['auth:logout'], { env }))
      assert.ok(flat(logout.stderr).includes('Logging out... done'), logout.stderr)
      assert.doesNotMatch(readFileSync(join(home, '.netrc'), 'utf8'), /password/)
      fails(await c.heroku(['auth:whoami'], { env }), 'not logged in')
      assert.deepEqual(c.proxy.failures, [])
    })
  })
}
