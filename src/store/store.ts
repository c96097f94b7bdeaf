// The persistence port: what the daemon needs from a store, whatever backs it (LevelDB here).
import type { ErrorGroup } from '../core/failures.js'
import type { TaskRecord } from '../core/task-record.js'
import type { TaskEvent } from '../core/types.js'

/** A task as persisted: everything but the in-memory queue bookkeeping. */
export type StoredTask = TaskRecord

export interface HistoryQuery {
  task?: string
  /** The latest `limit` matching events, returned oldest first. */
  limit: number
}

export type Scope = 'read' | 'admin'

/** A listener key as stored: only the hash of its secret. */
export interface TokenRecord {
  id: string
  /** sha256 of the secret, hex. */
  hash: string
  scope: Scope
  name: string
  created: string
}

export interface Store {
  /**
   * Seq of the last event ever committed; seqs are never reused, also across restarts. After a crash or
   * lost writes it can be ahead of the newest event kept (seqs then jump, they never repeat).
   */
  readonly lastSeq: number
  /**
   * Every task record, handed to `visit` one at a time as it is read: at boot no record outlives the
   * task built from it, so 100k of them are never held at once.
   */
  forEachTask(visit: (task: StoredTask) => void): Promise<void>
  /** Every task record at once. */
  loadTasks(): Promise<StoredTask[]>
  /**
   * One atomic write: the events, the new records of the tasks they touched, the removed names. A
   * shared log (`shared`) refuses it with `LogConflict` if its head is no longer `expected`.
   */
  commit(events: TaskEvent[], tasks: StoredTask[], removed: string[], expected?: number): Promise<void>
  history(query: HistoryQuery): Promise<TaskEvent[]>
  /** Events with seq > `after`, oldest first, at most `limit`. */
  eventsAfter(after: number, limit: number): Promise<TaskEvent[]>
  /** Seq of the oldest event still kept (lastSeq + 1 when none is). */
  firstSeq(): Promise<number>
  /**
   * Retention: delete the oldest events so that at most `keep` remain, at most `chunk` of them per
   * call. Task records and the failure counts are not touched. Returns how many were deleted.
   */
  compact(keep: number, chunk: number): Promise<number>
  /** Failures grouped by task and cause, kept up to date by `commit`. */
  errors(): Promise<ErrorGroup[]>
  tokens(): Promise<TokenRecord[]>
  putToken(token: TokenRecord): Promise<void>
  deleteToken(id: string): Promise<boolean>
  /** A small JSON value a part of the daemon keeps across restarts (a webhook's cursor), or null. */
  getValue(key: string): Promise<unknown>
  putValue(key: string, value: unknown): Promise<void>
  close(): Promise<void>
  /** Set by a store several daemons share (see SharedLog). */
  readonly shared?: boolean
}

/** A store's log is shared by several daemons (the nodes of a cluster). */
export interface SharedLog extends Store {
  readonly shared: true
  /** The seq of the last event any node committed. */
  head(): Promise<number>
  /** The events up to `seq` were read and applied: `lastSeq` follows. */
  advanceTo(seq: number): void
  /** Called soon after any node commits, with the head it committed. */
  onAdvance(listener: (head: number) => void): Promise<void>
  registerNode(name: string, info: unknown): Promise<number>
  heartbeat(name: string, epoch: number, info: unknown): Promise<boolean>
  lostNodes(timeoutMs: number): Promise<{ name: string; silentMs: number }[]>
  nodes(): Promise<NodeRow[]>
  /** Whether this daemon holds the cluster's one lead (taken if free). */
  tryLead(): Promise<boolean>
}

export function isShared(store: Store): store is SharedLog {
  return store.shared === true
}

/** A node of a cluster as the store keeps it; `info` is what its last heartbeat said (running, CPU, memory, version). */
export interface NodeRow {
  name: string
  state: 'alive' | 'lost'
  epoch: number
  startedAt: string
  lastSeen: string
  silentMs: number
  info: Record<string, unknown>
}

/** A shared log moved on since the writer's state: nothing was written; read on and decide again. */
export class LogConflict extends Error {
  constructor(readonly expected: number, readonly head: number) {
    super(`the shared log moved on (at seq ${head}, the write was decided at ${expected})`)
    this.name = 'LogConflict'
  }
}
