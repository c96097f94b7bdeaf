// One client connection, whatever carries it: requests answered in order of arrival, event streams pushed.
import { DomainError } from '../core/errors.js'
import type { TaskEvent } from '../core/types.js'
import { z } from 'zod'
import { parseOrThrow, issueMessages } from '../config/validation.js'
import type { DaemonContext, Scope } from './context.js'
import { call } from './methods.js'
import { errorAnswer, requestSchema, type Answer } from './protocol.js'

const subscribeParams = z.strictObject({
  since: z.number({ error: 'expected a seq number' }).int().min(0, { error: 'expected a seq number >= 0' }).optional(),
})
const REPLAY_PAGE = 1000

export class Session {
  private unsubscribe: (() => void) | null = null

  constructor(
    private readonly ctx: DaemonContext,
    private readonly scope: Scope,
    private readonly send: (message: Answer | { event: TaskEvent }) => void,
  ) {}

  /** Handle one raw message (already size-checked by the transport). */
  async receive(text: string): Promise<void> {
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch {
      this.send({ id: null, error: { code: 'invalid', message: 'message: not valid JSON' } })
      return
    }
    const parsed = requestSchema.safeParse(raw)
    if (!parsed.success) {
      const id = (raw as { id?: unknown } | null)?.id
      const safeId = typeof id === 'string' || typeof id === 'number' ? id : null
      this.send({ id: safeId, error: { code: 'invalid', message: issueMessages(parsed.error.issues).join('; ') } })
      return
    }
    const { id, method, params } = parsed.data
    try {
      this.send({ id, result: await this.dispatch(method, params) })
    } catch (error) {
      this.send(errorAnswer(id, error))
    }
  }

  private async dispatch(method: string, params: unknown): Promise<unknown> {
    if (method === 'events.subscribe') return this.subscribe(parseOrThrow(subscribeParams, params ?? {}).since)
    if (method === 'events.unsubscribe') return { unsubscribed: this.stop() }
    return call(this.ctx, this.scope, method, params)
  }

  /**
   * Stored events after `since`, then live ones, none lost or doubled: live events are buffered while
   * the stored ones are read, and only those past the last one sent go out.
   */
  private async subscribe(since: number | undefined): Promise<{ subscribed: true; lastSeq: number }> {
    if (this.unsubscribe !== null) throw new DomainError('conflict', 'events: already subscribed')
    let sent = since ?? this.ctx.store.lastSeq
    let buffer: TaskEvent[] | null = []
    const push = (event: TaskEvent): void => {
      if (event.seq <= sent) return
      sent = event.seq
      this.send({ event })
    }
    this.unsubscribe = this.ctx.supervisor.dispatcher.subscribe((events) => {
      if (buffer !== null) buffer.push(...events)
      else events.forEach(push)
    })
    const lastSeq = this.ctx.store.lastSeq
    for (;;) {
      const page = await this.ctx.store.eventsAfter(sent, REPLAY_PAGE)
      page.forEach(push)
      if (page.length < REPLAY_PAGE) break
    }
    buffer.forEach(push)
    buffer = null
    return { subscribed: true, lastSeq }
  }

  /** End this session's stream, if any; true if there was one. */
  stop(): boolean {
    const had = this.unsubscribe !== null
    this.unsubscribe?.()
    this.unsubscribe = null
    return had
  }
}
