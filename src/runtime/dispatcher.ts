// The one dispatcher: actions in, one at a time; events logged in one atomic batch, then reduced.
import type { Action } from '../core/actions.js'
import { decide, type Decision } from '../core/decide.js'
import { reduce } from '../core/reducer.js'
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

export type EventListener = (events: readonly TaskEvent[]) => void

export class Dispatcher {
  private tail: Promise<unknown> = Promise.resolve()
  private readonly listeners = new Set<EventListener>()

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

  /** Decide, log, reduce, notify. Only call from inside `serial`. */
  async handle(action: Action): Promise<Decision & { logged: TaskEvent[] }> {
    const decision = decide(this.state, action)
    const logged = await this.log(this.stamp(decision.events, action.now))
    return { ...decision, logged }
  }

  /**
   * A burst of process starts and exits, logged in as few batches as possible: actions about
   * different tasks are decided against the same state and written together; a second action about
   * the same task (a run that started and already ended) waits for the next batch, so that it is
   * decided on the state the first one left. An action refused by `decide` is left out. Only call
   * from inside `serial`.
   */
  async handleAll(actions: readonly Action[]): Promise<TaskEvent[]> {
    const logged: TaskEvent[] = []
    let remaining = actions
    while (remaining.length > 0) {
      const seen = new Set<string>()
      const now: Action[] = []
      const later: Action[] = []
      for (const action of remaining) {
        const name = 'name' in action ? action.name : ''
        if (seen.has(name)) later.push(action)
        else {
          seen.add(name)
          now.push(action)
        }
      }
      logged.push(...(await this.handleIndependent(now)))
      remaining = later
    }
    return logged
  }

  private async handleIndependent(actions: readonly Action[]): Promise<TaskEvent[]> {
    const stamped: TaskEvent[] = []
    let seq = this.nextSeq()
    for (const action of actions) {
      let events: NewEvent[]
      try {
        events = decide(this.state, action).events
      } catch {
        continue
      }
      stamped.push(...stampInPlace(events, seq, action.now))
      seq += events.length
    }
    return this.log(stamped)
  }

  private async log(logged: TaskEvent[]): Promise<TaskEvent[]> {
    if (logged.length === 0) return logged
    const { puts, removed } = this.records(logged)
    await this.store.commit(logged, puts, removed)
    for (const event of logged) reduce(this.state, event)
    for (const listener of this.listeners) listener(logged)
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
