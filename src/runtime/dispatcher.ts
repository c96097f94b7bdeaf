// The one dispatcher: actions in, one at a time; events logged in one atomic batch, then reduced.
import type { Action, Effect } from '../core/actions.js'
import { decide, type Decision } from '../core/decide.js'
import { DomainError } from '../core/errors.js'
import { reduce } from '../core/reducer.js'
import { touchedBy } from '../core/workflow.js'
import type { State } from '../core/state.js'
import { applyEvent, newRecord, recordOf } from '../core/task-record.js'
import type { NewEvent, TaskEvent } from '../core/types.js'
import { isShared, LogConflict, type Store, type StoredTask } from '../store/store.js'

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

/**
 * How many times a decision is made again because other nodes kept committing first; past it the
 * action fails (a `conflict`), changing nothing. Each try reads the log on first, so this is only
 * reached under a storm of writes.
 */
const MOST_TRIES = 100

/** Events read at a time when following a shared log. */
const FOLLOW_PAGE = 5000

/** A conflict that outlasted every try, as a refusal that names it; other errors as they are. */
function conflictError(error: unknown): unknown {
  if (!(error instanceof LogConflict)) return error
  return new DomainError('conflict', `the shared log kept moving: other nodes committed first ${MOST_TRIES} times; nothing was changed, try again`, { cause: error })
}

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
  /**
   * Told the events other nodes wrote, once applied (a cluster): what they decided about this node's
   * runs (signals, runs moved away from a lost node) is carried out by it.
   */
  onFollowed: (events: readonly TaskEvent[]) => void = () => undefined
  /** Whether other daemons write the same log (a cluster): then every write is checked against its head. */
  readonly shared: boolean
  /** Writes refused because another node committed first, each decided again (a cluster's contention). */
  conflicts = 0

  constructor(
    readonly state: State,
    private readonly store: Store,
  ) {
    this.shared = isShared(store)
  }

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
    for (let tries = 1; ; tries += 1) {
      const decision = decide(this.state, action)
      let logged: TaskEvent[]
      try {
        logged = await this.log(this.stamp(decision.events, action.now))
      } catch (error) {
        // Another node wrote first: read what it wrote, and decide again on the log as it now is.
        if (error instanceof LogConflict && tries < MOST_TRIES) {
          this.conflicts += 1
          await this.catchUp()
          continue
        }
        // The caller may still need to act on what was decided (see `unloggedDecision`).
        throw Object.assign(conflictError(error) as Error, { decision })
      }
      this.carryOut(decision.effects)
      return { ...decision, logged }
    }
  }

  /**
   * Read and apply what other nodes wrote since this daemon's state (a shared log; a no-op otherwise).
   * Listeners see their events as they see this daemon's own. Only call from inside `serial`.
   */
  async catchUp(): Promise<number> {
    if (!isShared(this.store)) return 0
    const store = this.store
    // Everything up to the head read first is committed: read up to it, page by page.
    const head = await store.head()
    let applied = 0
    while (this.state.seq < head) {
      const events = await store.eventsAfter(this.state.seq, FOLLOW_PAGE)
      const page = events.filter((event) => event.seq <= head)
      if (page.length === 0) break
      this.apply(page)
      this.onFollowed(page)
      applied += page.length
    }
    // Seqs the log skipped (a migrated log's gaps, events deleted by retention): the head is where it stands.
    this.state.seq = Math.max(this.state.seq, head)
    store.advanceTo(this.state.seq)
    return applied
  }

  /** Follow the shared log now (another node committed). */
  follow(): Promise<number> {
    return this.serial(() => this.catchUp())
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
    for (let tries = 1; ; tries += 1) {
      try {
        return await this.handleRound(actions)
      } catch (error) {
        if (!(error instanceof LogConflict) || tries >= MOST_TRIES) throw conflictError(error)
        this.conflicts += 1
        await this.catchUp()
      }
    }
  }

  private async handleRound(actions: readonly Action[]): Promise<TaskEvent[]> {
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
      await this.store.commit(logged, puts, removed, this.shared ? this.state.seq : undefined)
    } catch (error) {
      if (error instanceof LogConflict) throw error
      const problem = `writing to the task database failed: ${messageOf(error)}`
      this.degraded = { since: this.degraded?.since ?? logged[0]?.time ?? new Date(0).toISOString(), problem }
      throw new DomainError('internal', `store: ${problem}; nothing was changed`, { cause: error })
    }
    this.degraded = null
    // Written: from here on nothing may throw, or the caller would think the write failed and log
    // these events a second time.
    this.apply(logged)
    return logged
  }

  /** Logged events (this daemon's, or other nodes'), reduced into the state and told to listeners. */
  private apply(logged: readonly TaskEvent[]): void {
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
    // A shared log's next seq is the one after its head, which a write checks is still this state's.
    return (this.shared ? this.state.seq : Math.max(this.state.seq, this.store.lastSeq)) + 1
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
