// A WebSocket API client for tests: header or first-message auth, answers matched by id, pushed events, close codes.
import WebSocket from 'ws'
import type { TaskEvent } from '../../src/core/types.js'
import type { DaemonProcess } from './daemon-process.js'
import { waitFor } from './wait.js'

export interface WsAnswer {
  id: string | number | null
  result?: unknown
  error?: { code: string; message: string }
}

export interface ConnectOptions {
  /** Sent as `Authorization: Bearer TOKEN`. */
  token?: string
  origin?: string
}

export interface Closed {
  code: number
  reason: string
}

export interface CreatedToken {
  id: string
  token: string
  scope: string
  name: string
}

/**
 * Daemon flags for suites whose tokens add tasks that run as root (the tests run as root and test
 * other things): without them a root daemon refuses such tasks from a token.
 */
export const TOKEN_TASKS_AS_ROOT = ['--api-users', 'root']

/** Every socket a test opened and has not seen closed: `closeAllClients` ends them. */
const live = new Set<WebSocket>()

export const wsUrl = (port: number): string => `ws://127.0.0.1:${port}/ws`

function openSocket(port: number, options: ConnectOptions): WebSocket {
  const headers: Record<string, string> = {}
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`
  const ws = new WebSocket(wsUrl(port), { headers, ...(options.origin === undefined ? {} : { origin: options.origin }) })
  live.add(ws)
  ws.once('close', () => live.delete(ws))
  return ws
}

/** The HTTP status an upgrade is refused with, or 101 if the connection opened (it is then closed). */
export function upgradeStatus(port: number, options: ConnectOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = openSocket(port, options)
    ws.on('error', () => undefined)
    ws.once('unexpected-response', (_req, res) => {
      res.resume()
      resolve(res.statusCode ?? -1)
      ws.terminate()
      live.delete(ws)
    })
    ws.once('open', () => {
      resolve(101)
      ws.close()
    })
    ws.once('close', () => reject(new Error('closed before any upgrade answer')))
  })
}

export class WsClient {
  readonly events: TaskEvent[] = []
  /** Answers with an id nobody is waiting for (`id: null` for a message that was not JSON). */
  readonly stray: WsAnswer[] = []
  readonly errors: Error[] = []
  readonly closed: Promise<Closed>
  private nextId = 1
  private readonly waiting = new Map<string | number, (answer: WsAnswer) => void>()

  private constructor(readonly ws: WebSocket) {
    ws.on('error', (error) => this.errors.push(error))
    ws.on('message', (data) => this.receive(JSON.parse(data.toString()) as Record<string, unknown>))
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  }

  /** Open a connection; rejects with the HTTP status if the upgrade is refused. */
  static connect(port: number, options: ConnectOptions = {}): Promise<WsClient> {
    const client = new WsClient(openSocket(port, options))
    return new Promise((resolve, reject) => {
      client.ws.once('open', () => resolve(client))
      client.ws.once('unexpected-response', (_req, res) => {
        res.resume()
        reject(new Error(`upgrade refused: HTTP ${res.statusCode ?? '?'}`))
        client.ws.terminate()
      })
      client.ws.once('error', reject)
    })
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  /** Send a request and resolve with its answer; rejects if the connection ends first. */
  request(method: string, params?: unknown): Promise<WsAnswer> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.waiting.set(id, resolve)
      void this.closed.then((c) => reject(new Error(`connection closed (${c.code}) before the answer to ${method}`)))
      this.ws.send(JSON.stringify(params === undefined ? { id, method } : { id, method, params }))
    })
  }

  /** The result of a request that must succeed. */
  async result<T = unknown>(method: string, params?: unknown): Promise<T> {
    const answer = await this.request(method, params)
    if (answer.error !== undefined) throw new Error(`${method} failed: ${answer.error.code}: ${answer.error.message}`)
    return answer.result as T
  }

  /** Send raw text (or bytes), bypassing the request envelope. */
  send(raw: string | Buffer): void {
    this.ws.send(raw)
  }

  nextStray(timeoutMs = 5000): Promise<WsAnswer> {
    return waitFor(() => this.stray.shift(), 'an answer without a waiting request', timeoutMs)
  }

  waitForEvent(match: (e: TaskEvent) => boolean, what: string, timeoutMs = 15_000): Promise<TaskEvent> {
    return waitFor(() => this.events.find(match), what, timeoutMs)
  }

  /** Close politely (forcibly after 2 s) and resolve with the close code. */
  async close(): Promise<Closed> {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close()
    const timer = setTimeout(() => this.ws.terminate(), 2000)
    const closed = await this.closed
    clearTimeout(timer)
    return closed
  }

  private receive(message: Record<string, unknown>): void {
    if ('event' in message) {
      this.events.push(message['event'] as TaskEvent)
      return
    }
    if (!('id' in message)) return // other pushes (metrics) are not what these tests read
    const answer = message as unknown as WsAnswer
    const waiter = answer.id === null ? undefined : this.waiting.get(answer.id)
    if (waiter === undefined) {
      this.stray.push(answer)
      return
    }
    this.waiting.delete(answer.id as string | number)
    waiter(answer)
  }
}

/** Terminate every socket still open (an after hook's safety net). */
export function closeAllClients(): void {
  for (const ws of live) ws.terminate()
  live.clear()
}

/** `ctl token create --scope SCOPE --json` on the daemon's control socket. */
export function createToken(daemon: DaemonProcess, scope: 'read' | 'admin', name?: string): Promise<CreatedToken> {
  return daemon.ctlJson<CreatedToken>(['token', 'create', '--scope', scope, ...(name === undefined ? [] : ['--name', name])])
}

/** Resolve with `promise`, or reject naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
