/**
 * GET /localspace/events: Server-Sent Events of the daemon's event stream, only of what the
 * caller may see, ended when the dashboard session ends. Over a real listener (a stream).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type TestApi } from '../helpers/api.js'

/** Reads SSE frames from a fetch body until `until` holds or the stream ends. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  until: (events: Array<{ event: string; data: any }>) => boolean,
): Promise<{ events: Array<{ event: string; data: any }>; ended: boolean }> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  const events: Array<{ event: string; data: any }> = []
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return { events, ended: true }
      buffer += value
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = /^event: (.*)$/m.exec(frame)?.[1]
        const data = /^data: (.*)$/m.exec(frame)?.[1]
        if (event && data) events.push({ event, data: JSON.parse(data) })
      }
      if (until(events)) return { events, ended: false }
    }
  } finally {
    await reader.cancel()
  }
}

describe('dashboard event stream', () => {
  let api: TestApi
  let url: string
  before(async () => {
    api = await startTestApi()
    api.user('ev-member@example.com')
    for (const team of ['ev-team', 'ev-hidden']) {
      assert.equal((await api.call('POST', '/teams', { name: team })).status, 201)
    }
    await api.call('PUT', '/teams/ev-team/members', {
      email: 'ev-member@example.com',
      role: 'member',
    })
    for (const [space, team] of [
      ['ev-space', 'ev-team'],
      ['ev-hidden-space', 'ev-hidden'],
    ]) {
      assert.equal((await api.call('POST', '/spaces', { name: space, team })).status, 201)
    }
    url = await api.server.listen({ host: '127.0.0.1', port: 0 })
  })
  after(() => api.close())

  const signIn = async () => {
    const res = await fetch(`${url}/localspace/session`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('ev-member@example.com:user-password').toString('base64')}`,
      },
    })
    assert.equal(res.status, 201)
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!
    return { cookie, csrf: ((await res.json()) as { csrf_token: string }).csrf_token }
  }

  test('a member hears of its team’s apps and spaces, not of another team’s', async () => {
    const { cookie } = await signIn()
    const stream = await fetch(`${url}/localspace/events`, { headers: { cookie } })
    assert.equal(stream.status, 200)
    assert.match(stream.headers.get('content-type')!, /^text\/event-stream/)
    // The hidden team's app first: if it were sent, it would arrive before the visible one.
    const hidden = await api.call('POST', '/teams/apps', {
      name: 'ev-hidden-app',
      team: 'ev-hidden',
      space: 'ev-hidden-space',
    })
    assert.equal(hidden.status, 201)
    const seen = await api.call('POST', '/teams/apps', {
      name: 'ev-app',
      team: 'ev-team',
      space: 'ev-space',
    })
    assert.equal(seen.status, 201)
    const { events } = await readEvents(stream.body!, (e) =>
      e.some((x) => x.data.app === seen.body.id),
    )
    const ids = events.map((e) => String(e.data.app ?? e.data.space))
    assert.ok(!ids.includes(hidden.body.id), 'the other team’s app is not announced')
    assert.ok(!ids.includes(hidden.body.space.id), 'nor its space')
    const mine = events.find((e) => e.data.app === seen.body.id)!
    assert.equal(mine.event, 'app.changed')
    assert.equal(mine.data.space, seen.body.space.id)
  })

  test('the stream ends when the session signs out', async () => {
    const { cookie, csrf } = await signIn()
    const stream = await fetch(`${url}/localspace/events`, { headers: { cookie } })
    assert.equal(stream.status, 200)
    const out = await fetch(`${url}/localspace/session`, {
      method: 'DELETE',
      headers: { cookie, 'x-csrf-token': csrf },
    })
    assert.equal(out.status, 204)
    const { ended } = await readEvents(stream.body!, () => false)
    assert.ok(ended)
  })

  test('without a session or key: 401', async () => {
    const res = await fetch(`${url}/localspace/events`)
    assert.equal(res.status, 401)
    assert.equal(((await res.json()) as { id: string }).id, 'unauthorized')
  })
})
