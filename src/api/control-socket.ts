// The local control socket: newline-delimited JSON requests, private to the daemon's user (mode 0600).
import { chmod, rm } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import type { DaemonContext } from './context.js'
import { lineReader } from './line-reader.js'
import { Session } from './session.js'

/** Largest request line: an ecosystem file of 100,000 tasks fits with room to spare. */
export const MAX_LINE_BYTES = 256 * 1024 * 1024

export interface ControlSocket {
  server: Server
  /** Stop listening and end every connection (a `watch` would otherwise hold it open). */
  close(): Promise<void>
}

export async function listenControlSocket(ctx: DaemonContext, path: string): Promise<ControlSocket> {
  // The database lock is ours, so a socket file left here belongs to a daemon that died.
  await rm(path, { force: true })
  const connections = new Set<Socket>()
  const server = createServer((socket) => {
    connections.add(socket)
    socket.on('close', () => connections.delete(socket))
    serve(ctx, socket)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  await chmod(path, 0o600)
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve())
      for (const socket of connections) socket.destroy()
    })
  return { server, close }
}

function serve(ctx: DaemonContext, socket: Socket): void {
  const session = new Session(ctx, 'owner', (message) => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`)
  })
  let queue: Promise<void> = Promise.resolve()
  const read = lineReader((line) => {
    if (line.trim() !== '') queue = queue.then(() => session.receive(line))
  }, MAX_LINE_BYTES)
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    if (!read(chunk)) socket.destroy()
  })
  socket.on('error', () => socket.destroy())
  socket.on('close', () => session.stop())
}
