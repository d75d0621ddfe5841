/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against a
 * real daemon in a network sandbox: sign in; create a space and watch it become allocated; an
 * app deployed through the API appears with its dynos in the picture; scale from the page;
 * set and edit a config var; roll back a release; the log tail shows a new line; a member of
 * another team sees none of it. Writes docs/screenshots/{space,app,phone}.png for the README.
 */
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from '../helpers/browser.js'
import {
  exampleTarball,
  apiRequest,
  freePort,
  REPO,
  startDaemonProcess,
  tempDataDir,
  uploadSource,
  type DaemonProcess,
} from '../helpers/daemon.js'
import { killDynosUnder } from '../helpers/dynos.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

const SCREENSHOTS = join(REPO, 'docs', 'screenshots')
/** Long enough for a build and a dyno start on a busy machine; each wait ends on its condition. */
const SLOW_MS = 90_000

if (sandboxed(import.meta.url)) {
  describe('the dashboard in Chromium', () => {
    const data = tempDataDir()
    let d: DaemonProcess
    let browser: Browser
    let ana: Page
    /** Requests of the page that failed (a stream cut by navigating away is not a failure). */
    const failed: string[] = []
    const api = (method: string, path: string, body?: unknown) =>
      apiRequest(d.url, d.key, method, path, body)

    before(async () => {
      d = await startDaemonProcess(data.dir, await freePort())
      for (const [email, team] of [
        ['ana@example.com', 'ui-team'],
        ['bob@example.com', 'ui-other'],
      ] as const) {
        const made = await api('POST', '/localspace/accounts', { email, password: 'password-123' })
        assert.equal(made.status, 201)
        assert.equal((await api('POST', '/teams', { name: team })).status, 201)
        const member = await api('PUT', `/teams/${team}/members`, { email, role: 'admin' })
        assert.equal(member.status, 200)
      }
      browser = await launchChromium()
      ana = await browser.newPage({ viewport: { width: 1280, height: 900 } })
      ana.setDefaultTimeout(20_000)
      ana.on('requestfailed', (r) => {
        const why = r.failure()?.errorText
        // Chromium aborts requests in flight when the host's interfaces change, which they do
        // as dynos start (the page tries reads again); a navigation aborts open streams.
        if (why !== 'net::ERR_ABORTED' && why !== 'net::ERR_NETWORK_CHANGED')
          failed.push(`${r.method()} ${r.url()}: ${why}`)
      })
      mkdirSync(SCREENSHOTS, { recursive: true })
    })
    after(async () => {
      await browser?.close()
      await api('PATCH', '/apps/ui-web/formation/web', { quantity: 0 }).catch(() => undefined)
      await d?.stop('SIGTERM')
      await killDynosUnder(data.dir)
      data.remove()
    })

    async function signIn(page: Page, email: string) {
      await page.goto(`${d.url}/`)
      await page.getByLabel('Email', { exact: true }).fill(email)
      await page.getByLabel('Password', { exact: true }).fill('password-123')
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByRole('heading', { name: 'Spaces', level: 1 }).waitFor()
    }

    test('sign in with email and password; no key in the page’s storage', async () => {
      await ana.goto(`${d.url}/`)
      await ana.getByLabel('Email', { exact: true }).fill('ana@example.com')
      await ana.getByLabel('Password', { exact: true }).fill('wrong-password')
      await ana.getByRole('button', { name: 'Sign in' }).click()
      await ana.getByRole('alert').filter({ hasText: 'Invalid email or password.' }).waitFor()
      await signIn(ana, 'ana@example.com')
      const cookies = await ana.context().cookies()
      const session = cookies.find((c) => c.name === 'localspace_session')!
      assert.equal(session.httpOnly, true)
      assert.equal(session.sameSite, 'Strict')
      const stored = await ana.evaluate(
        () => JSON.stringify({ ...localStorage, ...sessionStorage }) + document.cookie,
      )
      assert.doesNotMatch(stored, /HRKU-|localspace_session/)
    })

    test('create a space from the page and watch it become allocated', async () => {
      await ana.getByLabel('Name', { exact: true }).fill('ui-space')
      await ana.getByRole('button', { name: 'Create space' }).click()
      const row = ana.locator('tr[data-space="ui-space"]')
      await row.waitFor()
      // No reload and no polling: the state changes by the event stream.
      await row.locator('.badge', { hasText: 'allocated' }).waitFor({ timeout: SLOW_MS })
      assert.equal(await row.locator('td').nth(1).textContent(), 'ui-team')
    })

    test('an app deployed through the API appears with its dynos in the picture', async () => {
      await ana.getByRole('link', { name: 'ui-space' }).click()
      await ana.getByRole('heading', { name: /Space ui-space/ }).waitFor()
      await ana.locator('svg.topology').waitFor()
      const made = await api('POST', '/teams/apps', {
        name: 'ui-web',
        team: 'ui-team',
        space: 'ui-space',
      })
      assert.equal(made.status, 201)
      await ana.locator('svg.topology [data-app="ui-web"]').waitFor()
      const tarball = exampleTarball()
      const url = await uploadSource(d, 'ui-web', tarball)
      const build = await api('POST', '/apps/ui-web/builds', { source_blob: { url } })
      assert.equal(build.status, 201)
      const chip = ana.locator('svg.topology [data-app="ui-web"] g.dyno.up[data-dyno="web.1"]')
      await chip.waitFor({ timeout: SLOW_MS })
      const ip = await chip.locator('.dyno-ip').textContent()
      assert.match(ip ?? '', /^10\.\d+\.128\.\d+$/, 'web.1 shows its private IP')
      // The same dyno with its DNS name in the table.
      await ana.getByRole('cell', { name: 'web.1' }).waitFor()
      await ana.locator('code', { hasText: '1.web.ui-web.app.localspace' }).waitFor()
      await ana
        .locator('section[aria-labelledby="h-topology"]')
        .screenshot({ path: join(SCREENSHOTS, 'space.png') })
    })

    test('add and remove a trusted IP range as a team admin', async () => {
      await ana.getByLabel('Range (CIDR)').fill('203.0.113.0/24')
      await ana.getByRole('button', { name: 'Add range' }).click()
      await ana.getByRole('button', { name: 'Remove 203.0.113.0/24' }).waitFor()
      const ruleset = await api('GET', '/spaces/ui-space/inbound-ruleset')
      const rules = ruleset.body.rules as Array<{ source: string }>
      assert.ok(rules.some((r) => r.source === '203.0.113.0/24'))
      await ana.getByLabel('Range (CIDR)').fill('not-a-range')
      await ana.getByRole('button', { name: 'Add range' }).click()
      // What the API refuses, the page says (the API's own message).
      await ana
        .getByRole('alert')
        .filter({ hasText: /not-a-range/ })
        .waitFor()
    })

    test('scale from the page and see the dynos change', async () => {
      await ana.goto(`${d.url}/#/apps/ui-web`)
      await ana.getByRole('heading', { name: 'App ui-web' }).waitFor()
      await ana.getByLabel('Dynos of web').fill('2')
      await ana.getByRole('button', { name: 'Scale web' }).click()
      await ana.locator('ul.dynos li[data-dyno="web.2"]').waitFor({ timeout: SLOW_MS })
      const formation = await api('GET', '/apps/ui-web/formation/web')
      assert.equal(formation.body.quantity, 2)
      await waitUntil(
        'web.2 to be up',
        async () =>
          ((await api('GET', '/apps/ui-web/dynos')).body as any[]).some(
            (x) => x.name === 'web.2' && x.state === 'up',
          ),
        { timeoutMs: SLOW_MS },
      )
      await ana
        .locator('ul.dynos li[data-dyno="web.2"] .badge', { hasText: 'up' })
        .waitFor({ timeout: SLOW_MS })
    })

    test('config vars are hidden until asked, then set and edited in place', async () => {
      assert.equal(await ana.locator('table.config').count(), 0, 'hidden at first')
      await ana.getByRole('button', { name: 'Reveal config vars' }).click()
      await ana.getByLabel('Key').fill('GREETING')
      await ana.getByLabel('Value', { exact: true }).fill('hello')
      await ana.getByRole('button', { name: 'Add config var' }).click()
      await ana.locator('tr[data-var="GREETING"] code.value', { hasText: 'hello' }).waitFor()
      await ana.getByRole('button', { name: 'Edit GREETING' }).click()
      await ana.getByLabel('Value of GREETING').fill('hi there')
      await ana.getByRole('button', { name: 'Save GREETING' }).click()
      await ana.locator('tr[data-var="GREETING"] code.value', { hasText: 'hi there' }).waitFor()
      assert.equal((await api('GET', '/apps/ui-web/config-vars')).body.GREETING, 'hi there')
    })

    test('the log tail shows a new line', async () => {
      const tail = ana.getByLabel('Log tail')
      await tail.filter({ hasText: 'Set GREETING config vars' }).waitFor()
      // A change made elsewhere (the CLI's way) shows up in the open tail.
      assert.equal(
        (await api('PATCH', '/apps/ui-web/config-vars', { TAIL_CHECK: '1' })).status,
        200,
      )
      await tail.filter({ hasText: 'Set TAIL_CHECK config vars' }).waitFor()
    })

    test('roll back a release from the page', async () => {
      const releases = (await api('GET', '/apps/ui-web/releases')).body as any[]
      const deploy = releases.find((r) => /^Deploy /.test(r.description))
      const latest = Math.max(...releases.map((r) => r.version as number))
      await ana
        .getByRole('button', { name: `Roll back to v${deploy.version}`, exact: true })
        .click()
      await ana.getByRole('button', { name: `Confirm roll back to v${deploy.version}` }).click()
      const made = ana.locator(`li[data-version="${latest + 1}"]`)
      try {
        await made.filter({ hasText: `Rollback to v${deploy.version}` }).waitFor()
      } catch (e) {
        const shown = await ana.locator('section[aria-labelledby="h-releases"]').innerText()
        throw new Error(`no v${latest + 1} on the page:\n${shown}`, { cause: e })
      }
      await made.locator('.badge', { hasText: 'current' }).waitFor()
      // The config of the deploy is back: GREETING is gone from the page and the API.
      await ana.locator('tr[data-var="GREETING"]').waitFor({ state: 'detached' })
      assert.equal((await api('GET', '/apps/ui-web/config-vars')).body.GREETING, undefined)
      assert.deepEqual(await ana.getByRole('alert').allInnerTexts(), [], 'no error on the page')
      await ana.screenshot({ path: join(SCREENSHOTS, 'app.png'), fullPage: true })
    })

    test('a member of another team sees none of it', async () => {
      const context = await browser.newContext({ viewport: { width: 390, height: 844 } })
      const bob = await context.newPage()
      try {
        await signIn(bob, 'bob@example.com')
        await bob.getByText('No spaces yet.').waitFor()
        await bob.goto(`${d.url}/#/spaces/ui-space`)
        await bob.getByRole('alert').filter({ hasText: "Couldn't find that space." }).waitFor()
        await bob.goto(`${d.url}/#/apps/ui-web`)
        await bob.getByRole('alert').filter({ hasText: "Couldn't find that app." }).waitFor()
        await bob.goto(`${d.url}/#/apps`)
        await bob.getByText('No apps yet.').waitFor()
        assert.equal(await bob.getByText('ui-web').count(), 0)
        await bob.screenshot({ path: join(SCREENSHOTS, 'phone.png') })
      } finally {
        await context.close()
      }
    })

    test('no request of the page failed on the way', () => {
      assert.deepEqual(failed, [])
    })

    test('sign out ends the session', async () => {
      await ana.getByRole('button', { name: 'Sign out' }).click()
      await ana.getByRole('heading', { name: 'Sign in to localspace' }).waitFor()
      const status = await ana.evaluate(
        async () =>
          (
            await fetch('/spaces', {
              headers: { accept: 'application/vnd.heroku+json; version=3' },
            })
          ).status,
      )
      assert.equal(status, 401)
    })
  })
}
