// The reducer: applies one logged event to the state, keeping both queues in order.
import { index, unindex, type State } from './state.js'
import { applyEvent, fromRecord, newTask, type TaskRecord } from './task-record.js'
import type { TaskEvent } from './types.js'

export function reduce(state: State, logged: TaskEvent): State {
  state.seq = Math.max(state.seq, logged.seq)
  if (logged.type === 'task.added') {
    const task = newTask(state.interner.spec(logged.spec), logged.seq)
    state.tasks.set(task.spec.name, task)
    index(state, task)
    return state
  }
  const event = logged.type === 'task.updated' ? { ...logged, spec: state.interner.spec(logged.spec) } : logged
  const task = state.tasks.get(event.task)
  if (task === undefined) return state // e.g. the exit of a run whose task was removed
  unindex(state, task)
  applyEvent(task, event)
  if (task.pid === null) state.running.delete(task)
  else state.running.add(task)
  if (event.type === 'task.removed') {
    state.tasks.delete(event.task)
    state.running.delete(task)
  } else index(state, task)
  return state
}

/** Load a stored task record into the state (boot), as it was when last written. */
export function restore(state: State, record: TaskRecord): void {
  const task = fromRecord(record, state.interner.spec(record.spec))
  state.tasks.set(task.spec.name, task)
  if (task.pid !== null) state.running.add(task)
  index(state, task)
}
