// The ctl side of the control socket: send requests, read answers and pushed events.
import { createConnection, type Socket } from 'node:net'
import { DomainError, type ErrorCode } from '../core/errors.js'
import type { TaskEvent } from '../core/types.js'

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void }

export class Client {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private buffer = ''
  onEvent: (event: TaskEvent) => void = () => undefined

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => this.read(chunk))
    socket.on('close', () => this.failAll(new DomainError('internal', 'the daemon closed the connection')))
  }

  static connect(path: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path)
      socket.once('connect', () => resolve(new Client(socket)))
      socket.once('error', (error: NodeJS.ErrnoException) => {
        const absent = error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
        const message = absent
          ? `no daemon is running on ${path} (start one with: supervisor daemon)`
          : error.code === 'EACCES'
            ? `permission denied on ${path}: only the daemon's user may control it`
            : `cannot reach the daemon on ${path}: ${error.message}`
        reject(new DomainError('unauthorized', message))
      })
    })
  }

  call<T = unknown>(method: string, params: unknown = {}): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.socket.write(`${JSON.stringify({ id, method, params })}\n`)
    })
  }

  close(): void {
    this.socket.end()
  }

  /** Resolves when the daemon closes the connection. */
  closed(): Promise<void> {
    return new Promise((resolve) => this.socket.once('close', () => resolve()))
  }

  private read(chunk: string): void {
    this.buffer += chunk
    let newline = this.buffer.indexOf('\n')
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline)
      this.buffer = this.buffer.slice(newline + 1)
      this.answer(JSON.parse(line) as Record<string, unknown>)
      newline = this.buffer.indexOf('\n')
    }
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
