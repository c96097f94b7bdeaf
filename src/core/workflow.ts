// Workflows: dependencies between tasks (`after`), what a prerequisite's end does to the tasks waiting
// for it (due, or skipped down the chain), triggers (`onSuccess`, `onFailure`), and the checks that
// keep the graph sound (no unknown names, no cycles).
import { nextCronTime } from './calendar.js'
import { DomainError } from './errors.js'
import type { State } from './state.js'
import { isFinished } from './task-record.js'
import type { NewEvent, SkipReason, Task, TaskSpec, Trigger } from './types.js'

/** Where a task stands with its prerequisites in its cycle. */
export interface Prerequisites {
  /** Those that have not succeeded in this cycle yet, in `after` order. */
  unmet: string[]
  /** One that will not succeed in this cycle by itself, and why: the cycle is skipped. */
  dead: { after: string; reason: SkipReason } | null
}

/** What a decision already says of a task's end, before it is applied: `succeeded`, or why not. */
type Ends = ReadonlyMap<string, 'succeeded' | SkipReason>

const NO_ENDS: Ends = new Map()

export function prerequisites(state: State, task: Task, ends: Ends = NO_ENDS): Prerequisites {
  const result: Prerequisites = { unmet: [], dead: null }
  for (const name of task.spec.after) {
    const end = ends.get(name)
    if (end === 'succeeded') continue
    const before = state.tasks.get(name)
    // A success in the very millisecond the cycle began counts: a fake clock (or a fast machine) has ties.
    if (end === undefined && before !== undefined && before.lastSuccessAt > 0 && before.lastSuccessAt >= task.cycleSince) continue
    result.unmet.push(name)
    if (result.dead !== null) continue
    if (end !== undefined) result.dead = { after: name, reason: end }
    else if (before === undefined) result.dead = { after: name, reason: 'removed' }
    else if (isFinished(before)) result.dead = { after: name, reason: before.state === 'succeeded' ? 'finished' : before.state as SkipReason }
  }
  return result
}

/** A task with prerequisites whose date came: due, waiting for them, or skipped. */
export function atDate(state: State, task: Task, now: number): NewEvent[] {
  const name = task.spec.name
  const status = prerequisites(state, task)
  if (status.dead !== null) return skip(task, status.dead, now)
  if (status.unmet.length > 0) return task.awaiting ? [] : [{ type: 'task.awaiting', task: name, after: status.unmet }]
  return [{ type: 'task.due', task: name, reason: 'date' }]
}

/** A cycle skipped; a cron task then waits for its next slot. */
function skip(task: Task, why: { after: string; reason: SkipReason }, now: number): NewEvent[] {
  const { spec } = task
  const events: NewEvent[] = [{ type: 'task.skipped', task: spec.name, ...why }]
  const next = spec.cron === null ? null : nextCronTime(spec.cron, spec.cronTz, now + 1)
  if (next !== null) events.push({ type: 'task.scheduled', task: spec.name, at: new Date(next).toISOString(), reason: 'cron' })
  return events
}

/** How an event ends a task's part as a prerequisite, if it does. */
function endOf(event: NewEvent): 'succeeded' | SkipReason | null {
  switch (event.type) {
    case 'task.succeeded':
      return 'succeeded'
    case 'task.failed':
      return 'failed'
    case 'task.stopped':
      return 'stopped'
    case 'task.expired':
      return 'expired'
    case 'task.skipped':
      return 'skipped'
    case 'task.removed':
      return 'removed'
    default:
      return null
  }
}

/**
 * What a decision's events do to other tasks: the tasks waiting for one that ended are due or skipped
 * (and a skip reaches the tasks after them in turn); triggers make their targets due.
 */
export function followUps(state: State, events: readonly NewEvent[], now: number): NewEvent[] {
  const ends = new Map<string, 'succeeded' | SkipReason>()
  // What the decision itself says of a task comes first: one it removes, redefines or makes due is not
  // also released or skipped for a prerequisite's sake.
  const settled = new Set<string>()
  for (const event of events) {
    const end = endOf(event)
    if (end !== null) ends.set(event.task, end)
    if (end !== null || event.type === 'task.updated' || event.type === 'task.added' || event.type === 'task.due' || event.type === 'task.triggered') settled.add(event.task)
  }
  const more: NewEvent[] = []
  const queue = [...events]
  for (let i = 0; i < queue.length; i += 1) {
    const event = queue[i] as NewEvent
    const end = endOf(event)
    if (end !== null) ends.set(event.task, end)
    const next = [...released(state, event, end, ends, settled, now), ...triggered(state, event, events, state.config.defaultOnFailure)]
    more.push(...next)
    queue.push(...next)
  }
  return more
}

/** The tasks waiting for `event.task` whose wait it ends: due once all succeeded, skipped if one cannot. */
function released(state: State, event: NewEvent, end: 'succeeded' | SkipReason | null, ends: Ends, settled: Set<string>, now: number): NewEvent[] {
  if (end === null) return []
  const out: NewEvent[] = []
  for (const name of state.dependents.get(event.task) ?? []) {
    const task = state.tasks.get(name)
    // `settled` holds every task the decision already ended or decided (follow-ups included).
    if (task === undefined || !task.awaiting || settled.has(name)) continue
    const status = prerequisites(state, task, ends)
    // Decided once per decision, however many of its prerequisites end in it.
    if (status.dead !== null) out.push(...skip(task, status.dead, now))
    else if (status.unmet.length === 0) out.push({ type: 'task.due', task: name, reason: 'after' })
    else continue
    settled.add(name)
  }
  return out
}

/**
 * `onSuccess` targets of a success, `onFailure` targets of a final failure or a missed deadline (the
 * daemon's default when the task names none). A target running or already due is left as it is.
 */
function triggered(state: State, event: NewEvent, decided: readonly NewEvent[], defaults: readonly string[]): NewEvent[] {
  const source = state.tasks.get(event.task)
  if (source === undefined) return []
  let targets: readonly string[]
  if (event.type === 'task.succeeded') targets = source.spec.onSuccess
  else if (event.type === 'task.failed' || event.type === 'task.deadline-missed') targets = source.spec.onFailure ?? defaults
  else return []
  if (targets.length === 0) return []
  const exited = decided.find((e) => e.type === 'run.exited' && e.task === event.task)
  const trigger: Trigger = event.type === 'task.deadline-missed'
    ? { task: event.task, outcome: 'deadline-missed', exitCode: source.lastExitCode }
    : { task: event.task, outcome: exited?.type === 'run.exited' ? exited.outcome : event.type.slice('task.'.length), exitCode: exited?.type === 'run.exited' ? exited.code : source.lastExitCode }
  const out: NewEvent[] = []
  for (const name of targets) {
    const target = state.tasks.get(name)
    if (target === undefined || name === event.task || target.state === 'running' || target.state === 'ready' || state.starting.has(name)) continue
    out.push({ type: 'task.triggered', task: name, trigger })
  }
  return out
}

/**
 * The tasks a decision about `name` may change besides it: those after it (down the chain) and its
 * trigger targets. Decisions taken together on one state must not share any.
 */
export function touchedBy(state: State, name: string): string[] {
  const seen = new Set<string>([name])
  const task = state.tasks.get(name)
  for (const target of [...(task?.spec.onSuccess ?? []), ...(task?.spec.onFailure ?? state.config.defaultOnFailure)]) seen.add(target)
  const queue = [name]
  while (queue.length > 0) {
    for (const next of state.dependents.get(queue.pop() as string) ?? []) {
      if (seen.has(next)) continue
      seen.add(next)
      queue.push(next)
    }
  }
  return [...seen]
}

/**
 * Refuse definitions that name tasks that exist nowhere or make `after` a cycle. `specs`: the new
 * definitions; `removed`: names going away in the same change.
 */
export function checkGraph(state: State, specs: readonly TaskSpec[], removed: ReadonlySet<string> = new Set()): void {
  const byName = new Map<string, readonly string[]>()
  for (const [name, task] of state.tasks) if (!removed.has(name)) byName.set(name, task.spec.after)
  for (const spec of specs) byName.set(spec.name, spec.after)
  const problems: string[] = []
  for (const spec of specs) {
    for (const key of ['after', 'onSuccess', 'onFailure'] as const) {
      for (const other of spec[key] ?? []) {
        if (!byName.has(other)) problems.push(`${spec.name}.${key}: no task named "${other}"`)
      }
    }
  }
  for (const cycle of cycles(byName, specs.map((s) => s.name))) problems.push(`after: ${cycle.map((n) => `"${n}"`).join(' -> ')} is a cycle`)
  if (problems.length > 0) throw new DomainError('invalid', problems.join('\n'))
}

/** Each cycle through `from` in the `after` graph, once (iterative depth-first search). */
function cycles(graph: ReadonlyMap<string, readonly string[]>, from: readonly string[]): string[][] {
  const found: string[][] = []
  const done = new Set<string>()
  for (const start of from) {
    if (done.has(start)) continue
    const path: string[] = []
    const onPath = new Set<string>()
    const stack: { name: string; next: number }[] = [{ name: start, next: 0 }]
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { name: string; next: number }
      if (top.next === 0) {
        path.push(top.name)
        onPath.add(top.name)
      }
      const edges = graph.get(top.name) ?? []
      if (top.next < edges.length) {
        const next = edges[top.next++] as string
        if (onPath.has(next)) found.push([...path.slice(path.indexOf(next)), next])
        else if (!done.has(next)) stack.push({ name: next, next: 0 })
        continue
      }
      stack.pop()
      path.pop()
      onPath.delete(top.name)
      done.add(top.name)
    }
  }
  return found
}
