// The reducer: applies one logged event to the state, keeping both queues in order.
import { index, linkAfter, unindex, type State } from './state.js'
import { applyEvent, fromRecord, newTask, type TaskRecord } from './task-record.js'
import type { TaskEvent } from './types.js'


export function reduce(state: State, logged: TaskEvent): State {
  state.seq = Math.max(state.seq, logged.seq)
  if (logged.type === 'task.added') {
    const task = newTask(state.interner.spec(logged.spec), logged.seq)
    state.tasks.set(task.spec.name, task)
    if (task.spec.after.length > 0) {
      task.cycleSince = Date.parse(logged.time)
      linkAfter(state, task.spec.name, [], task.spec.after)
    }
    index(state, task)
    return state
  }
  const event = logged.type === 'task.updated' ? { ...logged, spec: state.interner.spec(logged.spec) } : logged
  if (event.type === 'run.started' || (event.type === 'run.exited' && event.pid === null)) state.starting.delete(event.task)
  if (event.type === 'run.claimed') {
    const claimed = state.tasks.get(event.task)
    if (claimed !== undefined) state.starting.set(event.task, claimed)
  }
  if (event.type === 'run.exited' && event.pid !== null) state.orphans.delete(event.pid)
  const task = state.tasks.get(event.task)
  if (task === undefined || (event.type === 'run.stopping' && task.pid !== event.pid)) {
    orphanEvent(state, event)
    return state
  }
  unindex(state, task)
  const before = task.spec.after
  applyEvent(task, event)
  if (event.type === 'task.updated') linkAfter(state, task.spec.name, before, task.spec.after)
  if (event.type === 'task.removed') linkAfter(state, task.spec.name, before, [])
  if (task.pid === null) state.running.delete(task)
  else state.running.add(task)
  if (event.type === 'task.removed') {
    state.tasks.delete(event.task)
    state.running.delete(task)
    // Its run goes on until it has ended: it keeps its slot, and the core still owes it a SIGKILL.
    if (task.pid !== null) {
      const { cause, killAt } = task.stopping ?? { cause: 'remove' as const, killAt: null }
      state.orphans.set(task.pid, { task: task.spec.name, node: task.node, pid: task.pid, cause, killAt })
    }
  } else index(state, task)
  return state
}

/** An event about a run whose task is gone: a run being ended after its task was removed. */
function orphanEvent(state: State, event: TaskEvent): void {
  if (event.type === 'run.started') {
    // Its task was removed while it started: the run is ended next (run.stopping), on its node.
    state.orphans.set(event.pid, { task: event.task, node: event.node ?? state.config.node, pid: event.pid, cause: 'remove', killAt: null })
  } else if (event.type === 'run.stopping') {
    const killAt = event.killAt === null ? null : Date.parse(event.killAt)
    // A run of a task removed while it started: on the node whose start of it was just logged.
    const node = state.orphans.get(event.pid)?.node ?? state.config.node
    state.orphans.set(event.pid, { task: event.task, node, pid: event.pid, cause: event.cause, killAt })
    // The launch of a task removed (and perhaps added again) while it started is over: it is this run.
    const asked = state.starting.get(event.task)
    if (asked !== undefined && asked !== state.tasks.get(event.task)) state.starting.delete(event.task)
  } else if (event.type === 'run.exited' && event.pid !== null) {
    state.orphans.delete(event.pid)
  }
}

/** Load a stored task record into the state (boot), as it was when last written. */
export function restore(state: State, record: TaskRecord): void {
  const task = fromRecord(record, state.interner.spec(record.spec))
  state.tasks.set(task.spec.name, task)
  if (task.pid !== null) state.running.add(task)
  // A claim logged by a node of a cluster whose start is not reported yet.
  if (task.claimed) state.starting.set(task.spec.name, task)
  linkAfter(state, task.spec.name, [], task.spec.after)
  index(state, task)
}
