// The forecast: when queued work will run. The planner's order run forward on a simulated clock: the
// runs going on end at their expected times, each freed slot takes the next due task in start order,
// and tasks falling due later join the queue at their due time. Pure: the state is only read.
//
// What it leaves out, on purpose: CPU and memory admission (only the concurrency limit is simulated),
// deadline bumps and failure demotions that would happen later (today's priorities are used), retries
// and cron slots beyond a task's next one. With exact durations, no new arrivals and none of those,
// it is what then happens (a property test holds it to that).
import { neverFits, type Limits } from './admission.js'
import { expectedDuration } from './deadline.js'
import { IndexedHeap } from './heap.js'
import { compareTasks } from './order.js'
import type { State } from './state.js'
import type { Task } from './types.js'
import { prerequisites } from './workflow.js'

export interface ForecastOptions {
  /** How far ahead to look (ms). */
  horizonMs: number
  /** The duration assumed for a run whose task has no expected duration. */
  unknownMs: number
  /** Runs at once: the daemon's `maxConcurrent`. */
  slots: number
  /** At most this many starts are simulated (a bound on the cost with a huge queue). */
  maxStarts?: number
  /** The admission limits: a task that can never fit them gets no slot (as the planner does). */
  limits?: Limits
  /** Stop once this task's run is placed: only its row is wanted (rows after it are left out). */
  until?: string
}

export interface Forecast {
  task: string
  /** Epoch ms. */
  start: number
  /** Epoch ms; Infinity for a service (`restart: always`), which holds its slot. */
  end: number
  deadline: number | null
  /** A deadline task expected to end after its deadline. */
  atRisk: boolean
  running: boolean
}

export interface ForecastResult {
  /** By start time, then start order. */
  rows: Forecast[]
  byTask: Map<string, Forecast>
  now: number
  horizonEnd: number
  /** True when `maxStarts` cut the simulation short before the horizon. */
  truncated: boolean
}

interface Queued {
  task: Task
  pos: number
}

const DEFAULT_MAX_STARTS = 100_000

export function forecast(state: State, now: number, options: ForecastOptions): ForecastResult {
  const horizonEnd = now + options.horizonMs
  const maxStarts = options.maxStarts ?? DEFAULT_MAX_STARTS
  const rows: Forecast[] = []
  const duration = (task: Task): number => expectedDuration(task) ?? options.unknownMs
  const endOf = (task: Task, start: number): number => (task.spec.restart === 'always' ? Infinity : start + duration(task))
  const row = (task: Task, start: number, end: number, running: boolean): Forecast => {
    const { deadline } = task.spec
    return { task: task.spec.name, start, end, deadline, atRisk: deadline !== null && end > deadline, running }
  }

  // When each slot frees: the runs going on (a run past its expected end may end any moment), the
  // launches under way, the removed tasks' runs still ending; the rest are free now.
  const slotFree = new MinHeap()
  for (const task of state.running) {
    const start = task.runStartedAt ?? now
    const end = Math.max(now, endOf(task, start))
    rows.push(row(task, start, end, true))
    slotFree.push(end)
  }
  for (const task of state.starting.values()) {
    if (task.pid !== null || !state.tasks.has(task.spec.name)) continue
    const end = endOf(task, now)
    rows.push(row(task, now, end, true))
    slotFree.push(end)
  }
  for (let i = 0; i < state.orphans.size; i += 1) slotFree.push(now)
  for (let i = slotFree.size; i < options.slots; i += 1) slotFree.push(now)
  // More runs than slots: a new start waits until enough of them have ended.
  while (slotFree.size > options.slots) slotFree.pop()

  // The queue: the due tasks as they stand (read lazily, in start order), and those falling due within
  // the horizon, joining it at their due time. Those are found by one scan of the timer heap and a
  // sort by due time: ~1 µs a task, a third of reading the heap in order.
  const ready = peekable(state.ready.ordered())
  const later: Task[] = []
  for (const task of state.timers.unordered()) {
    // A manual task has no date to come due at, and one waiting for its prerequisites none known yet.
    if (waitsForNothing(state, task) && (task.state === 'scheduled' || task.state === 'retrying') && task.dueAt <= horizonEnd) later.push(task)
  }
  later.sort((a, b) => a.dueAt - b.dueAt)
  const joined = new IndexedHeap<Queued>((a, b) => compareTasks(a.task, b.task) < 0, {
    get: (q) => q.pos,
    set: (q, pos) => (q.pos = pos),
  })
  let nextLater = 0
  const joinUntil = (t: number): void => {
    while (nextLater < later.length && (later[nextLater] as Task).dueAt <= t) joined.push({ task: later[nextLater++] as Task, pos: -1 })
  }
  const nextDue = (): number | undefined => later[nextLater]?.dueAt

  let starts = 0
  let truncated = false
  // Only a task already placed (running, starting) was wanted: nothing to simulate.
  const placed = options.until !== undefined && rows.some((r) => r.task === options.until)
  // The simulated clock only moves forward: a slot that idled until a task fell due makes every slot
  // freed before then idle until then too (nothing else was due).
  let clock = now
  while (!placed) {
    const free = slotFree.pop()
    if (free === undefined || free === Infinity) break
    let t = Math.max(clock, free)
    if (t > horizonEnd) break
    joinUntil(t)
    let next = pick(ready, joined, state, options.limits)
    if (next === undefined) {
      // Nothing waits: the slot idles until the next task falls due.
      const due = nextDue()
      if (due === undefined) break
      t = Math.max(t, due)
      if (t > horizonEnd) break
      joinUntil(t)
      next = pick(ready, joined, state, options.limits)
      if (next === undefined) break
    }
    clock = t
    if (starts >= maxStarts) {
      truncated = true
      break
    }
    starts += 1
    const end = endOf(next, t)
    rows.push(row(next, t, end, false))
    slotFree.push(end)
    if (next.spec.name === options.until) break
  }
  rows.sort((a, b) => a.start - b.start)
  return { rows, byTask: new Map(rows.map((r) => [r.task, r])), now, horizonEnd, truncated }
}

/**
 * The next task to start: the better of the queue as it stands and the tasks that joined since. A task
 * being launched already has its slot; one that can never fit here waits without a slot (as planned).
 */
function pick(ready: Peekable<Task>, joined: IndexedHeap<Queued>, state: State, limits: Limits | undefined): Task | undefined {
  const skip = (task: Task): boolean => state.starting.has(task.spec.name) || (limits !== undefined && neverFits(task, limits) !== null)
  while (ready.peek() !== undefined && skip(ready.peek() as Task)) ready.next()
  while (joined.peek() !== undefined && skip((joined.peek() as Queued).task)) joined.pop()
  const a = ready.peek()
  const b = joined.peek()?.task
  if (a === undefined) return joined.pop()?.task
  if (b === undefined || compareTasks(a, b) <= 0) return ready.next()
  return joined.pop()?.task
}

interface Peekable<T> {
  peek(): T | undefined
  next(): T | undefined
}

function peekable<T>(items: Iterator<T>): Peekable<T> {
  let head: IteratorResult<T> = items.next()
  return {
    peek: () => (head.done === true ? undefined : head.value),
    next: () => {
      if (head.done === true) return undefined
      const value = head.value
      head = items.next()
      return value
    },
  }
}

/** A min-heap of numbers (slot free times). */
class MinHeap {
  private readonly items: number[] = []

  get size(): number {
    return this.items.length
  }

  push(value: number): void {
    const items = this.items
    items.push(value)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((items[parent] as number) <= value) break
      items[i] = items[parent] as number
      i = parent
    }
    items[i] = value
  }

  pop(): number | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= items.length) break
      const right = left + 1
      const child = right < items.length && (items[right] as number) < (items[left] as number) ? right : left
      if ((items[child] as number) >= last) break
      items[i] = items[child] as number
      i = child
    }
    items[i] = last
    return top
  }
}

/** Whether a waiting task falls due by the clock alone (its date or its backoff's end), its prerequisites met. */
function waitsForNothing(state: State, task: Task): boolean {
  if (task.spec.manual || task.awaiting) return false
  return task.spec.after.length === 0 || prerequisites(state, task).unmet.length === 0
}
