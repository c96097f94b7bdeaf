// The persistence port: what the daemon needs from a store, whatever backs it (LevelDB here).
import type { Task, TaskEvent } from '../core/types.js'

/** A task as persisted: everything but the in-memory queue bookkeeping. */
export type StoredTask = Omit<Task, 'readyPos' | 'timerPos' | 'wakeAt'>

export interface HistoryQuery {
  task?: string
  /** The latest `limit` matching events, returned oldest first. */
  limit: number
}

export interface Store {
  /** Seq of the last event ever committed; seqs are never reused, also across restarts. */
  readonly lastSeq: number
  loadTasks(): Promise<StoredTask[]>
  /** One atomic write: the events, the new records of the tasks they touched, the removed names. */
  commit(events: TaskEvent[], tasks: StoredTask[], removed: string[]): Promise<void>
  history(query: HistoryQuery): Promise<TaskEvent[]>
  /** Events with seq > `after`, oldest first, at most `limit`. */
  eventsAfter(after: number, limit: number): Promise<TaskEvent[]>
  close(): Promise<void>
}
