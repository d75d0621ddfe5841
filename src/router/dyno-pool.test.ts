import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { DynoPool, type ConnectionUser, type DynoConnection } from './dyno-pool.js'
import type { ResponseHead } from './http1-parser.js'

/** A dyno that answers every request on a connection with `ok`, kept alive. */
function okDyno(): Server {
  return createServer((socket) => {
    socket.on('data', (d: Buffer) => {
      const requests = d.toString('latin1').split('\r\n\r\n').length - 1
      for (let i = 0; i < requests; i++) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
      }
    })
  })
}

/** One request on `conn`; `pauseOnBody` does what a Forward does for a client that is behind. */
function exchange(conn: DynoConnection, pauseOnBody: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = ''
    const user: ConnectionUser = {
      onConnect: () => send(),
      onHead: (_head: ResponseHead) => undefined,
      onBody: (chunk) => {
        body += chunk.toString('latin1')
        if (pauseOnBody) conn.socket.pause()
      },
      onEnd: (reusable) => {
        conn.release(reusable)
        resolve(body)
      },
      onError: (reason) => reject(new Error(reason)),
      onDrain: () => undefined,
      onReadDone: () => undefined,
    }
    const send = () => conn.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    conn.attach(user, false)
    if (conn.connected) send()
  })
}

describe('DynoPool', () => {
  let dyno: Server
  let port = 0
  before(async () => {
    dyno = okDyno().listen(0, '127.0.0.1')
    await once(dyno, 'listening')
    port = (dyno.address() as AddressInfo).port
  })
  after(() => dyno.close())

  test('a connection released while paused for a slow client reads again in the pool', async () => {
    const pool = new DynoPool('127.0.0.1', port, 4, 8192)
    try {
      const first = pool.take()
      assert.equal(await exchange(first, true), 'ok')
      const again = pool.take()
      assert.equal(again, first, 'the kept-alive connection is reused')
      assert.equal(again.socket.isPaused(), false)
      // Without the resume, this answer is never read.
      assert.equal(await exchange(again, false), 'ok')
    } finally {
      pool.close()
    }
  })
})
