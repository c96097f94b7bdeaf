// The ctl side of the protocol, over the control socket or a WebSocket: requests, answers, pushed events.
import { createConnection } from 'node:net'
import { lineReader } from '../api/line-reader.js'
import { DomainError, type ErrorCode } from '../core/errors.js'
import type { TaskEvent } from '../core/types.js'

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void }

/** A message channel to the daemon: one JSON text per message. */
interface Wire {
  send(text: string): void
  onMessage(handler: (text: string) => void): void
  onClose(handler: () => void): void
  close(): void
}

export class Client {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private readonly closedPromise: Promise<void>
  onEvent: (event: TaskEvent) => void = () => undefined

  private constructor(private readonly wire: Wire) {
    wire.onMessage((text) => this.answer(JSON.parse(text) as Record<string, unknown>))
    this.closedPromise = new Promise((resolve) =>
      wire.onClose(() => {
        this.failAll(new DomainError('internal', 'the daemon closed the connection'))
        resolve()
      }),
    )
  }

  /** Over the control socket of a home: no token, the socket's file mode is the guard. */
  static connect(path: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path)
      socket.once('connect', () => {
        socket.setEncoding('utf8')
        const wire: Wire = {
          send: (text) => void socket.write(`${text}\n`),
          onMessage: (handler) => {
            const read = lineReader(handler)
            socket.on('data', (chunk: string) => void read(chunk))
          },
          onClose: (handler) => void socket.on('close', handler),
          close: () => void socket.end(),
        }
        resolve(new Client(wire))
      })
      socket.once('error', (error: NodeJS.ErrnoException) => reject(socketError(path, error)))
    })
  }

  /** Over a daemon's WebSocket API, with a token. */
  static async connectUrl(url: string, token: string): Promise<Client> {
    const { default: WebSocket } = await import('ws')
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } })
      ws.once('unexpected-response', (_req, res) => {
        const code = res.statusCode === 401 ? 'unauthorized' : 'internal'
        reject(new DomainError(code, `${url} refused the connection: HTTP ${res.statusCode ?? '?'}${res.statusCode === 401 ? ' (bad or revoked token)' : ''}`))
      })
      ws.once('error', (error) => reject(new DomainError('internal', `cannot reach ${url}: ${error.message}`)))
      ws.once('open', () => {
        resolve(new Client({
          send: (text) => ws.send(text),
          onMessage: (handler) => ws.on('message', (data) => handler(data.toString())),
          onClose: (handler) => ws.on('close', handler),
          close: () => ws.close(),
        }))
      })
    })
  }

  call<T = unknown>(method: string, params: unknown = {}): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.wire.send(JSON.stringify({ id, method, params }))
    })
  }

  close(): void {
    this.wire.close()
  }

  /** Resolves when the connection ends. */
  closed(): Promise<void> {
    return this.closedPromise
  }

  private answer(message: Record<string, unknown>): void {
    if ('event' in message) return this.onEvent(message['event'] as TaskEvent)
    const waiting = this.pending.get(message['id'] as number)
    if (waiting === undefined) return
    this.pending.delete(message['id'] as number)
    const error = message['error'] as { code: ErrorCode; message: string } | undefined
    if (error !== undefined) waiting.reject(new DomainError(error.code, error.message))
    else waiting.resolve(message['result'])
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error)
    this.pending.clear()
  }
}

function socketError(path: string, error: NodeJS.ErrnoException): DomainError {
  if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
    return new DomainError('unauthorized', `no daemon is running on ${path} (start one with: supervisor daemon)`)
  }
  if (error.code === 'EACCES') return new DomainError('unauthorized', `permission denied on ${path}: only the daemon's user may control it`)
  return new DomainError('internal', `cannot reach the daemon on ${path}: ${error.message}`)
}
