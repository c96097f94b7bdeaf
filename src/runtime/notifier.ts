// Webhooks (the `notify` setting): matching events POSTed as JSON, signed with HMAC-SHA256 when the
// webhook has a secret. The event log is the queue: each webhook reads it from its own cursor, kept in
// the store, so nothing waits in memory, the tick never waits for a receiver, and a restart resumes
// where delivery stopped (at least once: a receiver dedupes by `event.seq`).
import { createHash, createHmac } from 'node:crypto'
import type { Webhook } from '../config/daemon-settings.js'
import type { ErrorGroup } from '../core/failures.js'
import type { TaskEvent } from '../core/types.js'
import { eventFor } from '../api/redact.js'
import type { Store } from '../store/store.js'

export interface NotifierOptions {
  /** First wait before a retry, doubling up to `retryMostMs`. */
  retryFirstMs: number
  retryMostMs: number
  /** Attempts at most for one event (the first included) before it is given up. */
  attempts: number
  /** One request at most this long. */
  timeoutMs: number
  fetch: typeof fetch
}

/** Where the deliveries given up are kept, grouped (a handful of groups: one per webhook and cause). */
const ERRORS_KEY = 'notify-errors'

export const DEFAULT_NOTIFIER: NotifierOptions = { retryFirstMs: 1000, retryMostMs: 300_000, attempts: 12, timeoutMs: 10_000, fetch: globalThis.fetch }

/** What a delivery came to: done, worth another try, or not. */
export type Attempt = { ok: true } | { ok: false; retry: boolean; reason: string }

/** The signature header's value: `sha256=` and the hex HMAC of the exact body bytes. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

export function matches(hook: Pick<Webhook, 'events' | 'tasks'>, event: Pick<TaskEvent, 'type' | 'task'>): boolean {
  if (!hook.events.includes('*') && !hook.events.includes(event.type)) return false
  return hook.tasks === null || hook.tasks.includes(event.task)
}

/** A URL as errors show it (to `read` tokens too): no credentials, no query string, no fragment. */
export function shownUrl(text: string): string {
  try {
    const url = new URL(text)
    return `${url.protocol}//${url.host}${url.pathname}`
  } catch {
    return '(a webhook)'
  }
}

/** A webhook's identity for its cursor: what it receives, not its secret. */
export function hookId(hook: Webhook): string {
  return createHash('sha256').update(JSON.stringify([hook.url, hook.events, hook.tasks])).digest('hex').slice(0, 16)
}

/** A status worth trying again: the receiver is down or busy; other 4xx will not change. */
export function judge(status: number): Attempt {
  if (status >= 200 && status < 300) return { ok: true }
  const retry = status >= 500 || status === 408 || status === 429
  return { ok: false, retry, reason: `HTTP ${status}` }
}

export interface NotifierHooks {
  /** The task's view for the body (null once removed). */
  view(task: string): unknown
  delivered?(): void
  failed?(): void
}

export class Notifier {
  private workers = new Map<string, Worker>()
  private readonly failures = new Map<string, ErrorGroup>()
  private closed = false
  private loaded = false
  /**
   * Whether this daemon delivers (a cluster: only the node holding the lead does, so a delivery is not
   * made by two nodes); a daemon on its own always does.
   */
  leads: () => boolean = () => true

  constructor(
    private readonly store: Store,
    subscribe: (listener: () => void) => () => void,
    private readonly hooks: NotifierHooks,
    private readonly options: NotifierOptions = DEFAULT_NOTIFIER,
    private readonly now: () => number = Date.now,
  ) {
    this.unsubscribe = subscribe(() => {
      for (const worker of this.workers.values()) worker.wake()
    })
  }

  private readonly unsubscribe: () => void

  /** The webhooks to serve now (at start and on reload): new ones start from the newest event. */
  async configure(hooks: readonly Webhook[]): Promise<void> {
    if (!this.loaded) {
      this.loaded = true
      // Deliveries given up before a restart stay counted.
      const kept = await this.store.getValue(ERRORS_KEY)
      if (Array.isArray(kept)) for (const group of kept as ErrorGroup[]) this.failures.set(group.cause, group)
    }
    const next = new Map<string, Worker>()
    for (const hook of hooks) {
      const id = hookId(hook)
      const kept = this.workers.get(id)
      if (kept !== undefined) {
        kept.hook = hook // a new secret applies from the next delivery
        next.set(id, kept)
        continue
      }
      const stored = (await this.store.getValue(`notify:${id}`)) as { seq?: unknown } | null
      const cursor = typeof stored?.seq === 'number' ? stored.seq : this.store.lastSeq
      if (stored === null) await this.store.putValue(`notify:${id}`, { seq: cursor })
      next.set(id, new Worker(id, hook, cursor, this))
    }
    for (const [id, worker] of this.workers) {
      if (next.has(id)) continue
      await worker.stop()
      // Added back later, it starts from then, not from where it stopped.
      await this.store.putValue(`notify:${id}`, null)
    }
    this.workers = next
    if (!this.closed) for (const worker of next.values()) worker.start()
  }

  /** Look again at whether to deliver (the lead may have come to this node). */
  wakeAll(): void {
    for (const worker of this.workers.values()) worker.wake()
  }

  /** Deliveries given up, grouped by webhook and cause (shown with `ctl errors`). */
  errors(): ErrorGroup[] {
    return [...this.failures.values()]
  }

  async close(): Promise<void> {
    this.closed = true
    this.unsubscribe()
    await Promise.all([...this.workers.values()].map((worker) => worker.stop()))
  }

  /** @internal */ get opts(): NotifierOptions { return this.options }
  /** @internal */ get storeRef(): Store { return this.store }
  /** @internal */ view(task: string): unknown { return this.hooks.view(task) }
  /** @internal */ delivered(): void { this.hooks.delivered?.() }

  /** @internal A delivery given up: counted under its webhook (never its secret) and cause. */
  gaveUp(hook: Webhook, event: TaskEvent, reason: string): void {
    this.hooks.failed?.()
    const cause = `webhook ${shownUrl(hook.url)}: ${reason}`
    const time = new Date(this.now()).toISOString()
    const group = this.failures.get(cause) ?? { task: '(notify)', cause, fingerprint: '', stderr: '', count: 0, firstSeen: time, lastSeen: time }
    group.count += 1
    group.lastSeen = time
    group.stderr = `gave up delivering event ${event.seq} (${event.type} of ${event.task})`
    this.failures.set(cause, group)
    this.store.putValue(ERRORS_KEY, [...this.failures.values()]).catch(() => undefined)
  }
}

/** One webhook's delivery loop: events in order from its cursor, one at a time. */
class Worker {
  private running: Promise<void> | null = null
  private stopped = false
  private signal: (() => void) | null = null
  /** Events were logged since the last read: read again before waiting. */
  private pending = false
  private readonly abort = new AbortController()
  /** Whether it delivered last time it looked; taking the lead, it reads its cursor again. */
  private leading = true

  constructor(
    private readonly id: string,
    public hook: Webhook,
    private cursor: number,
    private readonly owner: Notifier,
  ) {}

  start(): void {
    this.running ??= this.loop().catch((error: unknown) => process.emitWarning(`webhook ${shownUrl(this.hook.url)}: ${(error as Error).message}`))
  }

  wake(): void {
    this.pending = true
    this.signal?.()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.abort.abort()
    this.wake()
    await this.running
  }

  private async loop(): Promise<void> {
    const store = this.owner.storeRef
    while (!this.stopped) {
      this.pending = false
      if (!this.owner.leads()) {
        this.leading = false
        if (this.pending || this.stopped) continue
        await new Promise<void>((resolve) => (this.signal = resolve))
        this.signal = null
        continue
      }
      if (!this.leading) {
        // Another node delivered meanwhile: from where it got to.
        this.leading = true
        const stored = (await store.getValue(`notify:${this.id}`)) as { seq?: unknown } | null
        if (typeof stored?.seq === 'number') this.cursor = Math.max(this.cursor, stored.seq)
      }
      const events = await store.eventsAfter(this.cursor, 100)
      if (events.length === 0) {
        if (this.pending || this.stopped) continue
        await new Promise<void>((resolve) => (this.signal = resolve))
        this.signal = null
        continue
      }
      for (const event of events) {
        if (this.stopped) return
        if (matches(this.hook, event)) await this.deliver(event)
        if (this.stopped) return
        this.cursor = event.seq
        // Kept after each delivery only: after a restart, the events between are read again, and skipped.
        if (matches(this.hook, event)) await store.putValue(`notify:${this.id}`, { seq: this.cursor })
      }
    }
  }

  /** Tries until it lands, the receiver refuses for good, or the attempts are spent. */
  private async deliver(event: TaskEvent): Promise<void> {
    const { opts } = this.owner
    // Env values are secrets: a receiver sees the event as a `read` token does (names, no values).
    const body = JSON.stringify({ event: eventFor('read', event), task: this.owner.view(event.task), stderr: await this.stderrOf(event) })
    for (let attempt = 1; ; attempt += 1) {
      const result = await this.post(body, event)
      if (this.stopped) return
      if (result.ok) return this.owner.delivered()
      if (!result.retry || attempt >= opts.attempts) return this.owner.gaveUp(this.hook, event, result.reason)
      await this.pause(Math.min(opts.retryMostMs, opts.retryFirstMs * 2 ** (attempt - 1)))
      if (this.stopped) return
    }
  }

  /** The end of the stderr of the run an event is about: its own, or for a failure, its last run's. */
  private async stderrOf(event: TaskEvent): Promise<string | null> {
    if (event.type === 'run.exited') return event.stderr ?? null
    if (event.type !== 'task.failed' && event.type !== 'task.deadline-missed') return null
    const recent = await this.owner.storeRef.history({ task: event.task, limit: 20 }).catch(() => [])
    for (const earlier of recent.reverse()) {
      if (earlier.seq < event.seq && earlier.type === 'run.exited') return earlier.stderr ?? null
    }
    return null
  }

  private async post(body: string, event: TaskEvent): Promise<Attempt> {
    const { opts } = this.owner
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'supervisor-webhook',
      'x-supervisor-event': event.type,
      'x-supervisor-delivery': String(event.seq),
    }
    if (this.hook.secret !== null) headers['x-supervisor-signature'] = signature(this.hook.secret, body)
    try {
      const response = await opts.fetch(this.hook.url, {
        method: 'POST', headers, body, redirect: 'manual',
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(opts.timeoutMs)]),
      })
      await response.arrayBuffer().catch(() => undefined)
      if (response.status >= 300 && response.status < 400) return { ok: false, retry: false, reason: `HTTP ${response.status} (redirects are not followed)` }
      return judge(response.status)
    } catch (error) {
      const name = (error as Error).name
      return { ok: false, retry: true, reason: name === 'TimeoutError' ? `no answer within ${opts.timeoutMs / 1000} s` : `unreachable (${(error as Error).message})` }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.abort.signal.addEventListener('abort', () => {
        clearTimeout(timer)
        resolve()
      }, { once: true })
    })
  }
}
