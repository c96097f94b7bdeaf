// The scheduler's in-memory state: live tasks, the ready queue and the timer queue.
import { nextWake, DEFAULT_URGENCY_MS } from './deadline.js'
import { IndexedHeap } from './heap.js'
import { startsBefore } from './order.js'
import { DEFAULT_BACKOFF } from './backoff.js'
import { Interner } from './compact.js'
import type { BackoffPolicy, KillCause, Task } from './types.js'

export interface CoreConfig {
  /** How long before its deadline a task is bumped to high. */
  urgencyMs: number
  backoff: BackoffPolicy
  /** A service (restart: always) that ran at least this long restarts without waiting. */
  stableMs: number
  /** Time between the SIGTERM that ends a run and the SIGKILL that follows if it is still there. */
  killTimeoutMs: number
  /** Tasks made due when a task that names no `onFailure` of its own fails for good (the daemon's `onFailure`). */
  defaultOnFailure: string[]
  /** This daemon's node name: where the runs it starts are recorded to run (null: not recorded). */
  node: string | null
  /**
   * Whether several daemons share the log (a cluster): then only runs on `node` are this daemon's to
   * start, watch, signal and record; others are followed as the log tells them.
   */
  shared: boolean
}

export const DEFAULT_CORE_CONFIG: CoreConfig = {
  urgencyMs: DEFAULT_URGENCY_MS, backoff: DEFAULT_BACKOFF, stableMs: 10_000, killTimeoutMs: 5000, defaultOnFailure: [],
  node: null, shared: false,
}

/** Whether a task's run (or claim) is this daemon's: always, unless the log is shared by a cluster. */
export function isMine(state: State, task: { node: string | null }): boolean {
  return !state.config.shared || task.node === state.config.node
}

/** Whether a task may run on this daemon's node: it names none (any node), or this one. */
export function placedHere(state: State, task: Task): boolean {
  const { nodes } = task.spec
  return nodes.length === 0 || state.config.node === null || nodes.includes(state.config.node)
}

/** This daemon's runs: all of them, or in a cluster those on its node. */
export function* myRuns(state: State): Generator<Task> {
  for (const task of state.running) if (isMine(state, task)) yield task
}

/** How many slots this daemon's runs take: running, starting, and runs still ending whose task is gone. */
export function myBusy(state: State): number {
  if (!state.config.shared) return state.running.size + state.starting.size + state.orphans.size
  return busyOn(state, state.config.node)
}

/** In a cluster, how many slots the runs on `node` take: running, claimed, and still ending though their task is gone. */
export function busyOn(state: State, node: string | null): number {
  let busy = 0
  for (const task of state.running) if (task.node === node) busy += 1
  for (const task of state.starting.values()) if (task.node === node) busy += 1
  for (const orphan of state.orphans.values()) if (orphan.node === node) busy += 1
  return busy
}

/** A run still ending whose task is gone (removed): it holds a slot, and its SIGKILL is still owed. */
export interface Orphan {
  task: string
  /** The node it runs on (null: outside a cluster). */
  node: string | null
  pid: number
  cause: KillCause
  killAt: number | null
}

export interface State {
  readonly config: CoreConfig
  readonly tasks: Map<string, Task>
  /** Due tasks, in start order. */
  readonly ready: IndexedHeap<Task>
  /** Tasks that change with the clock alone, earliest `wakeAt` first: the next event is its top. */
  readonly timers: IndexedHeap<Task>
  /** Tasks with a process now. */
  readonly running: Set<Task>
  /**
   * Launches asked for and not yet reported (`starting`: the launch was asked, its pid is not known),
   * by name, with the task they were asked for. Not logged: a start is logged once it has a pid, and a
   * daemon that dies first finds the run with its launcher (adoption) or its environment marker.
   */
  readonly starting: Map<string, Task>
  /** For each task name, the tasks that name it in `after` (the name need not exist). */
  readonly dependents: Map<string, Set<string>>
  /** Runs being ended whose task was removed, by pid. */
  readonly orphans: Map<number, Orphan>
  /** Shares the repeated parts of definitions between tasks. */
  readonly interner: Interner
  /** Seq of the last event applied. */
  seq: number
}

export function createState(config: Partial<CoreConfig> = {}): State {
  return {
    config: { ...DEFAULT_CORE_CONFIG, ...config },
    tasks: new Map(),
    ready: new IndexedHeap<Task>(startsBefore, {
      get: (t) => t.readyPos,
      set: (t, pos) => (t.readyPos = pos),
    }),
    timers: new IndexedHeap<Task>((a, b) => (a.wakeAt as number) < (b.wakeAt as number), {
      get: (t) => t.timerPos,
      set: (t, pos) => (t.timerPos = pos),
    }),
    running: new Set(),
    starting: new Map(),
    orphans: new Map(),
    dependents: new Map(),
    interner: new Interner(),
    seq: 0,
  }
}

/** Keep `dependents` in step with a task's `after`: `before` is what it named until now. */
export function linkAfter(state: State, name: string, before: readonly string[], after: readonly string[]): void {
  for (const other of before) {
    const set = state.dependents.get(other)
    set?.delete(name)
    if (set?.size === 0) state.dependents.delete(other)
  }
  for (const other of after) {
    const set = state.dependents.get(other) ?? new Set<string>()
    set.add(name)
    state.dependents.set(other, set)
  }
}

/** A launch was asked for this task: it is `starting` until its pid (or its failure) is logged. */
export function launching(state: State, task: Task): void {
  state.starting.set(task.spec.name, task)
}

/** Take a task out of both queues before its ordering fields change. */
export function unindex(state: State, task: Task): void {
  state.ready.remove(task)
  state.timers.remove(task)
}

/** Put a task back in the queues its state and dates call for. */
export function index(state: State, task: Task): void {
  if (task.state === 'ready') state.ready.push(task)
  task.wakeAt = nextWake(task, state.config.urgencyMs)
  if (task.wakeAt !== null) state.timers.push(task)
}

/**
 * New settings for the core (a live reload): every task's next wake is computed again under them (a
 * longer urgency window opens sooner): each task is put back in the queues, as a change of it is.
 */
export function reconfigure(state: State, config: Partial<CoreConfig>): void {
  Object.assign(state.config, config)
  if (config.urgencyMs === undefined) return
  for (const task of state.tasks.values()) {
    unindex(state, task)
    index(state, task)
  }
}

/** The earliest moment at which the clock alone changes anything, or null if nothing waits. */
export function nextEventAt(state: State): number | null {
  let next = state.timers.peek()?.wakeAt ?? null
  for (const orphan of state.orphans.values()) {
    if (orphan.killAt !== null && (next === null || orphan.killAt < next)) next = orphan.killAt
  }
  return next
}
