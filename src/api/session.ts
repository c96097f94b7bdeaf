// One client connection, whatever carries it: requests answered in order of arrival, event streams pushed.
import { DomainError } from '../core/errors.js'
import type { TaskEvent } from '../core/types.js'
import type { Metrics } from '../runtime/resources.js'
import { z } from 'zod'
import { got, parseOrThrow, issueMessages } from '../config/validation.js'
import { allows, type DaemonContext, type Scope } from './context.js'
import { applyIntake, applyParams, call } from './methods.js'
import { apiUserRule } from './api-users.js'
import { eventFor } from './redact.js'
import { applyLabel, TaskIntake } from './task-intake.js'
import { errorAnswer, requestSchema, type Answer } from './protocol.js'

const subscribeParams = z.strictObject({
  since: z.number({ error: got('a seq number (a whole number from 0)') }).int({ error: got('a seq number (a whole number from 0)') }).min(0, { error: got('a seq number (a whole number from 0)') }).optional(),
})
const REPLAY_PAGE = 1000
/** Tasks one connection may stage across the parts of one apply. */
export const MAX_STAGED_TASKS = 1_000_000
/** A part of an apply: the method's params, and whether more parts follow. */
const applyPart = applyParams.extend({ more: z.boolean({ error: 'expected true or false' }).optional() })

export class Session {
  private unsubscribe: (() => void) | null = null
  private unsubscribeMetrics: (() => void) | null = null
  /** The tasks of an apply sent in parts (`more: true`) so far, or `refused` once one of its parts was. */
  private staged: TaskIntake | 'refused' | null = null

  constructor(
    private readonly ctx: DaemonContext,
    private readonly scope: Scope,
    private readonly send: (message: Answer | { event: TaskEvent } | { metrics: Metrics }) => void,
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
    if (method === 'events.unsubscribe') return { unsubscribed: this.stopEvents() }
    if (method === 'tasks.apply') return this.apply(params)
    if (method === 'metrics.subscribe') {
      parseOrThrow(z.strictObject({}).optional(), params)
      this.unsubscribeMetrics ??= this.ctx.supervisor.onMetrics((metrics) => this.send({ metrics }))
      return this.ctx.supervisor.metrics()
    }
    return call(this.ctx, this.scope, method, params)
  }

  /**
   * An ecosystem too big for one frame comes in parts: every part but the last says `more: true` and
   * is validated (and resolved, when it names its `baseDir`) on arrival, while the client sends the
   * next; the last one applies them all at once, all or nothing, or lists every problem of every part.
   * A client may send every part without waiting for the answers: once a part is refused, the parts
   * after it are refused too, up to and including the last one, so nothing of that apply is applied.
   */
  private async apply(params: unknown): Promise<unknown> {
    if (!allows(this.scope, 'admin')) return call(this.ctx, this.scope, 'tasks.apply', params)
    const previous = this.staged
    this.staged = null
    const more = (params as { more?: unknown } | null)?.more === true
    try {
      if (previous === 'refused') throw new DomainError('invalid', 'tasks: an earlier part of this apply was refused; nothing of it is applied')
      const { tasks, prune, baseDir, dryRun } = parseOrThrow(applyPart, params)
      const intake = previous ?? new TaskIntake(this.ctx, applyLabel, apiUserRule(this.scope, this.ctx.settings.apiUsers))
      if (intake.size + tasks.length > MAX_STAGED_TASKS) {
        throw new DomainError('invalid', `tasks: more than ${MAX_STAGED_TASKS} tasks in one apply`)
      }
      intake.take(tasks, baseDir)
      if (!more) return await applyIntake(this.ctx, intake, baseDir, prune, dryRun === true)
      this.staged = intake
      return { staged: intake.size }
    } catch (error) {
      if (more) this.staged = 'refused'
      throw error
    }
  }

  /**
   * Stored events after `since`, then live ones, none lost or doubled: live events are buffered while
   * the stored ones are read, and only those past the last one sent go out.
   */
  private async subscribe(since: number | undefined): Promise<{ subscribed: true; lastSeq: number }> {
    if (this.unsubscribe !== null) throw new DomainError('conflict', 'events: already subscribed')
    const first = await this.ctx.store.firstSeq()
    if (since !== undefined && since < first - 1) {
      // Those events were deleted by the history's retention: a gap, which a stream must never hide.
      throw new DomainError('invalid', `since: events up to ${first - 1} are no longer kept (retention); subscribe with since >= ${first - 1}, or without since after reloading`)
    }
    let sent = since ?? this.ctx.store.lastSeq
    let buffer: TaskEvent[] | null = []
    const push = (event: TaskEvent): void => {
      if (event.seq <= sent) return
      sent = event.seq
      this.send({ event: eventFor(this.scope, event) })
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

  /** End everything this session streams (its connection closed). */
  stop(): void {
    this.unsubscribeMetrics?.()
    this.unsubscribeMetrics = null
    this.stopEvents()
  }

  /** End this session's event stream, if any; true if there was one. */
  private stopEvents(): boolean {
    const had = this.unsubscribe !== null
    this.unsubscribe?.()
    this.unsubscribe = null
    return had
  }
}
