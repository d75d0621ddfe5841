import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { hasListener } from './listening.js'

// Trimmed real /proc/net/tcp and tcp6 (header + sockets).
const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:D431 0100007F:1388 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1
`
const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1388 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 3 1 0 100 0 0 10 0
`

describe('hasListener', () => {
  test('finds a LISTEN socket on the port, IPv4 or IPv6', () => {
    assert.equal(hasListener(tcp, 8080), true)
    assert.equal(hasListener(tcp6, 5000), true)
  })

  test('ignores other ports and sockets in other states', () => {
    // 0x1388 = 5000 appears in tcp only as the remote end of an ESTABLISHED (01) socket.
    assert.equal(hasListener(tcp, 5000), false)
    assert.equal(hasListener(tcp, 54321), false)
    assert.equal(hasListener('', 8080), false)
  })
})
