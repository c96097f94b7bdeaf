// The one dispatcher: actions in, one at a time; events logged in one atomic batch, then reduced.
import type { Action } from '../core/actions.js'
import { decide, type Decision } from '../core/decide.js'
import { reduce } from '../core/reducer.js'
import type { State } from '../core/state.js'
import { applyEvent, newTask } from '../core/task-record.js'
import type { NewEvent, TaskEvent } from '../core/types.js'
import type { Store, StoredTask } from '../store/store.js'

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
    this.tail = result.catch(() => undefined)
    return result
  }

  dispatch(action: Action): Promise<Decision> {
    return this.serial(() => this.handle(action))
  }

  /** Decide, log, reduce, notify. Only call from inside `serial`. */
  async handle(action: Action): Promise<Decision & { logged: TaskEvent[] }> {
    const decision = decide(this.state, action)
    const logged = this.stamp(decision.events, action.now)
    if (logged.length > 0) {
      const { puts, removed } = this.records(logged)
      await this.store.commit(logged, puts, removed)
      for (const event of logged) reduce(this.state, event)
      for (const listener of this.listeners) listener(logged)
    }
    return { ...decision, logged }
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private stamp(events: NewEvent[], now: number): TaskEvent[] {
    const time = new Date(now).toISOString()
    let seq = Math.max(this.state.seq, this.store.lastSeq)
    return events.map((event) => ({ ...event, seq: ++seq, time }) as TaskEvent)
  }

  /** The records the events leave behind, computed on copies so nothing changes before the write. */
  private records(events: TaskEvent[]): { puts: StoredTask[]; removed: string[] } {
    const drafts = new Map<string, StoredTask | null>()
    for (const event of events) {
      if (event.type === 'task.added') {
        drafts.set(event.task, newTask(event.spec, event.seq))
        continue
      }
      if (event.type === 'task.removed') {
        drafts.set(event.task, null)
        continue
      }
      const current = drafts.has(event.task) ? drafts.get(event.task) : this.state.tasks.get(event.task)
      if (current == null) continue
      const draft = { ...current } as Parameters<typeof applyEvent>[0]
      applyEvent(draft, event)
      drafts.set(event.task, draft)
    }
    const puts: StoredTask[] = []
    const removed: string[] = []
    for (const [name, draft] of drafts) {
      if (draft === null) removed.push(name)
      else puts.push(toStored(draft))
    }
    return { puts, removed }
  }
}

function toStored(task: StoredTask & { readyPos?: number; timerPos?: number; wakeAt?: number | null }): StoredTask {
  const { readyPos: _r, timerPos: _t, wakeAt: _w, ...stored } = task
  return stored
}
