/**
 * One daemon per host: two would each converge the host to their own desired state and undo
 * each other. The lock is an abstract Unix socket, which belongs to the network namespace
 * (the host localspace manages) and vanishes with the process, even after kill -9.
 */
import { createServer, type Server } from 'node:net'

const LOCK_NAME = '\0localspace-daemon'

export async function lockHost(): Promise<{ release(): Promise<void> }> {
  const server: Server = createServer((socket) => socket.end())
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new Error('another localspace daemon already manages this host; stop it first')
          : e,
      ),
    )
    server.listen(LOCK_NAME, resolve)
  })
  return {
    release: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
