// The one dispatcher: actions in, one at a time; events logged in one atomic batch, then reduced.
import type { Action, Effect } from '../core/actions.js'
import { decide, type Decision } from '../core/decide.js'
import { DomainError } from '../core/errors.js'
import { reduce } from '../core/reducer.js'
import { touchedBy } from '../core/workflow.js'
import type { State } from '../core/state.js'
import { applyEvent, newRecord, recordOf } from '../core/task-record.js'
import type { NewEvent, TaskEvent } from '../core/types.js'
import type { Store, StoredTask } from '../store/store.js'

const noop = (): void => undefined

/**
 * Give new events their seq and time. In place: `decide` made them for this log alone, and a copy of
 * each (events of many shapes through one spread) cost 2 µs an event, a twentieth of a big apply.
 */
function stampInPlace(events: NewEvent[], first: number, now: number): TaskEvent[] {
  const time = new Date(now).toISOString()
  let seq = first
  const stamped = events as TaskEvent[]
  for (const event of stamped) {
    event.seq = seq++
    event.time = time
  }
  return stamped
}

/** The decision a failed `handle` could not log, if it got that far. */
export function unloggedDecision(error: unknown): Decision | null {
  return (error as { decision?: Decision } | null)?.decision ?? null
}

export type EventListener = (events: readonly TaskEvent[]) => void

/** Why the daemon cannot keep its log: since when writes fail, and the last failure's words. */
export interface Degraded {
  since: string
  problem: string
}

/** An error's message and its causes' ("Database failed to open" says little without its cause). */
function messageOf(error: unknown): string {
  const parts: string[] = []
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 4; depth += 1) {
    parts.push(e instanceof Error ? e.message : String(e))
    e = e instanceof Error ? e.cause : undefined
  }
  return parts.join(': ')
}

/**
 * The events of a start or an exit whose `decide` threw, so that it is still logged rather than lost:
 * a start as its bare run.started; an exit as its run.exited, and the task (if the run was its own)
 * failed, so that its pid is forgotten and nothing retries a run nobody could reason about.
 */
export function minimalEvents(state: State, action: Action, error: unknown): NewEvent[] {
  const task = 'name' in action ? state.tasks.get(action.name) : undefined
  if (action.type === 'started') {
    return [{ type: 'run.started', task: action.name, pid: action.pid, pidStart: action.pidStart ?? null, attempt: (task?.attempts ?? 0) + 1 }]
  }
  if (action.type !== 'exited') return []
  const own = task !== undefined && (action.pid === null ? task.state === 'ready' : task.pid === action.pid)
  const started = own ? (task.runStartedAt ?? action.now) : action.now
  const events: NewEvent[] = [{
    type: 'run.exited', task: action.name, pid: action.pid, code: action.code, signal: action.signal, outcome: 'failed',
    durationMs: Math.max(0, action.now - started), error: `the exit could not be decided (${messageOf(error)}); recorded as failed`,
  }]
  if (own) events.push({ type: 'task.failed', task: action.name })
  return events
}

/** Carries out effects (signals a run, nothing else: spawns are planned by the tick). */
export type Executor = (effects: readonly Effect[]) => void

export class Dispatcher {
  private tail: Promise<unknown> = Promise.resolve()
  private readonly listeners = new Set<EventListener>()
  /**
   * Where decided effects go, once their events are logged: every way into the log ends here, so no
   * decision's effects are dropped. Effects of a decision whose events could not be written are not
   * carried out (the decision did not happen; it is made again once the log can be written).
   */
  executor: Executor = () => undefined
  /** Set while writes fail (the last one failed), cleared by the next write that lands. */
  degraded: Degraded | null = null

  constructor(
    readonly state: State,
    private readonly store: Store,
  ) {}

  /** Run `job` after every job queued before it, alone. */
  serial<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job)
    // The chain keeps nothing: holding the last result would keep a 100k-task apply's events alive.
    this.tail = result.then(noop, noop)
    return result
  }

  dispatch(action: Action): Promise<Decision> {
    return this.serial(() => this.handle(action))
  }

  /**
   * Decide, log, reduce, notify, carry out the effects. A refusal (a DomainError from `decide`) is
   * thrown before anything is written. Only call from inside `serial`.
   */
  async handle(action: Action): Promise<Decision & { logged: TaskEvent[] }> {
    const decision = decide(this.state, action)
    let logged: TaskEvent[]
    try {
      logged = await this.log(this.stamp(decision.events, action.now))
    } catch (error) {
      // The caller may still need to act on what was decided (see `unloggedDecision`).
      throw Object.assign(error as Error, { decision })
    }
    this.carryOut(decision.effects)
    return { ...decision, logged }
  }

  private carryOut(effects: readonly Effect[]): void {
    if (effects.length === 0) return
    try {
      this.executor(effects)
    } catch (error) {
      process.emitWarning(`carrying out effects failed: ${messageOf(error)}`)
    }
  }

  /**
   * A burst of process starts and exits, logged in as few batches as possible: actions about
   * different tasks are decided against the same state and written together; a second action about
   * the same task (a run that started and already ended) waits for the next round, so that it is
   * decided on the state the first one left. Each round leaves `queue` once it is written (and only
   * then reduced); a failed write throws with that round and the later ones still in `queue`, none of
   * them applied, to be tried again as they are. Only call from inside `serial`.
   */
  async handleAll(queue: Action[]): Promise<TaskEvent[]> {
    const logged: TaskEvent[] = []
    while (queue.length > 0) {
      const seen = new Set<string>()
      const round: Action[] = []
      for (const action of queue) {
        // An exit also touches the tasks waiting for its task or triggered by it (workflows).
        const names = action.type === 'exited' ? touchedBy(this.state, action.name) : ['name' in action ? action.name : '']
        if (names.some((name) => seen.has(name))) continue
        for (const name of names) seen.add(name)
        round.push(action)
      }
      logged.push(...(await this.handleIndependent(round)))
      const done = new Set(round)
      let kept = 0
      for (const action of queue) if (!done.has(action)) queue[kept++] = action
      queue.length = kept
    }
    return logged
  }

  /** A start or exit is never left out: one whose `decide` throws is logged in its minimal form. */
  private async handleIndependent(actions: readonly Action[]): Promise<TaskEvent[]> {
    const stamped: TaskEvent[] = []
    const effects: Effect[] = []
    let seq = this.nextSeq()
    for (const action of actions) {
      let events: NewEvent[]
      try {
        const decision = decide(this.state, action)
        events = decision.events
        effects.push(...decision.effects)
      } catch (error) {
        process.emitWarning(`deciding a ${action.type} of ${'name' in action ? action.name : '?'} failed: ${messageOf(error)}`)
        events = minimalEvents(this.state, action, error)
      }
      stamped.push(...stampInPlace(events, seq, action.now))
      seq += events.length
    }
    const logged = await this.log(stamped)
    this.carryOut(effects)
    return logged
  }

  private async log(logged: TaskEvent[]): Promise<TaskEvent[]> {
    if (logged.length === 0) return logged
    const { puts, removed } = this.records(logged)
    try {
      await this.store.commit(logged, puts, removed)
    } catch (error) {
      const problem = `writing to the task database failed: ${messageOf(error)}`
      this.degraded = { since: this.degraded?.since ?? logged[0]?.time ?? new Date(0).toISOString(), problem }
      throw new DomainError('internal', `store: ${problem}; nothing was changed`, { cause: error })
    }
    this.degraded = null
    // Written: from here on nothing may throw, or the caller would think the write failed and log
    // these events a second time.
    try {
      for (const event of logged) reduce(this.state, event)
    } catch (error) {
      process.emitWarning(`applying logged events failed: ${messageOf(error)}`)
    }
    for (const listener of this.listeners) {
      try {
        listener(logged)
      } catch (error) {
        process.emitWarning(`an event listener failed: ${messageOf(error)}`)
      }
    }
    return logged
  }

  /** Retention: delete the oldest events beyond `keep`, a chunk at a time, between other work. */
  async compact(keep: number, chunk = 10_000, most = 100_000): Promise<number> {
    let total = 0
    for (;;) {
      const deleted = await this.serial(() => this.store.compact(keep, chunk))
      total += deleted
      if (deleted < chunk || total >= most) return total
    }
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private nextSeq(): number {
    return Math.max(this.state.seq, this.store.lastSeq) + 1
  }

  private stamp(events: NewEvent[], now: number): TaskEvent[] {
    return stampInPlace(events, this.nextSeq(), now)
  }

  /** The records the events leave behind, computed on copies so nothing changes before the write. */
  private records(events: TaskEvent[]): { puts: StoredTask[]; removed: string[] } {
    const drafts = new Map<string, StoredTask | null>()
    for (const event of events) {
      if (event.type === 'task.added') {
        drafts.set(event.task, newRecord(event.spec, event.seq))
        continue
      }
      if (event.type === 'task.removed') {
        drafts.set(event.task, null)
        continue
      }
      let draft = drafts.get(event.task)
      if (draft === undefined) {
        const live = this.state.tasks.get(event.task)
        if (live === undefined) continue
        draft = recordOf(live)
        drafts.set(event.task, draft)
      }
      if (draft !== null) applyEvent(draft, event)
    }
    const puts: StoredTask[] = []
    const removed: string[] = []
    for (const [name, draft] of drafts) {
      if (draft === null) removed.push(name)
      else puts.push(draft)
    }
    return { puts, removed }
  }
}
