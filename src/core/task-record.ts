// Creating tasks and applying one event to one task: the per-task half of the reducer.
import { effectivePriority } from './priority.js'
import type { Task, TaskEvent, TaskSpec, TaskState } from './types.js'

const FINISHED: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'stopped'])

export function isFinished(task: TaskRecord): boolean {
  return FINISHED.has(task.state)
}

/** The record of a task just added: scheduled, never run. */
export function newRecord(spec: TaskSpec, seq: number): TaskRecord {
  return {
    spec,
    state: 'scheduled',
    priority: spec.priority,
    bumped: false,
    consecutiveFailures: 0,
    retryStep: 0,
    attempts: 0,
    dueAt: spec.at,
    queuedSeq: seq,
    lastExitCode: null,
    lastOutcome: null,
    pid: null,
    pidStart: null,
    runStartedAt: null,
    rearm: false,
    peakMemory: null,
  }
}

export function newTask(spec: TaskSpec, seq: number): Task {
  return fromRecord(newRecord(spec, seq), spec)
}

/** A task's record alone, without its places in the queues: a copy the caller may change. */
export function recordOf(task: Task): TaskRecord {
  const { readyPos: _r, timerPos: _t, wakeAt: _w, ...record } = task
  return record
}

/** A task as a store kept it: everything but its places in the queues. */
export type TaskRecord = Omit<Task, 'readyPos' | 'timerPos' | 'wakeAt'>

/**
 * A live task from its record, built field by field in `newTask`'s order: every task then has one
 * hidden class (a parsed record has its own, and its version field), and nothing else is carried over.
 */
export function fromRecord(r: TaskRecord, spec: TaskSpec): Task {
  return {
    spec,
    state: r.state,
    priority: r.priority,
    bumped: r.bumped,
    consecutiveFailures: r.consecutiveFailures,
    retryStep: r.retryStep,
    attempts: r.attempts,
    dueAt: r.dueAt,
    queuedSeq: r.queuedSeq,
    lastExitCode: r.lastExitCode,
    lastOutcome: r.lastOutcome,
    pid: r.pid,
    pidStart: r.pidStart,
    runStartedAt: r.runStartedAt,
    rearm: r.rearm,
    peakMemory: r.peakMemory,
    readyPos: -1,
    timerPos: -1,
    wakeAt: null,
  }
}

/** Start a new cycle: a changed definition or a manual run after the task had finished. */
function rearm(task: TaskRecord): void {
  task.attempts = 0
  task.consecutiveFailures = 0
  task.retryStep = 0
  task.priority = effectivePriority(task.spec.priority, task.bumped, 0)
}

/** Apply one event to its task, in place. The caller keeps the queues in order around it. */
export function applyEvent(task: TaskRecord, event: TaskEvent): void {
  const time = Date.parse(event.time)
  switch (event.type) {
    case 'task.added':
      return
    case 'task.updated':
      task.spec = event.spec
      task.bumped = false
      task.priority = effectivePriority(event.spec.priority, false, task.consecutiveFailures)
      if (task.state === 'running') {
        task.rearm = true
        return
      }
      task.state = 'scheduled'
      task.dueAt = event.spec.at
      task.queuedSeq = event.seq
      return rearm(task)
    case 'task.due':
      if (event.reason === 'manual') {
        if (isFinished(task)) rearm(task)
        task.dueAt = time
        task.queuedSeq = event.seq
      }
      task.state = 'ready'
      return
    case 'task.priority':
      task.priority = event.to
      if (event.reason === 'deadline') task.bumped = true
      return
    case 'run.started':
      task.state = 'running'
      task.pid = event.pid
      task.pidStart = event.pidStart
      task.attempts = event.attempt
      task.runStartedAt = time
      return
    case 'run.exited':
      // The exit of an older run (a task of the same name since removed and added again) is not this task's.
      if (event.pid !== task.pid) return
      task.pid = null
      task.pidStart = null
      task.runStartedAt = null
      if (event.peakMemory !== undefined) task.peakMemory = Math.max(task.peakMemory ?? 0, event.peakMemory)
      task.lastExitCode = event.code
      task.lastOutcome = event.outcome
      if (event.outcome === 'succeeded') task.consecutiveFailures = 0
      else if (event.outcome !== 'interrupted') task.consecutiveFailures += 1
      return
    case 'task.retrying':
      task.state = 'retrying'
      task.dueAt = Date.parse(event.at)
      task.retryStep = event.step
      return
    case 'task.scheduled':
      task.state = 'scheduled'
      task.dueAt = Date.parse(event.at)
      task.attempts = 0
      task.retryStep = 0
      if (event.reason === 'updated') {
        task.rearm = false
        task.queuedSeq = event.seq
        task.consecutiveFailures = 0
        task.priority = effectivePriority(task.spec.priority, task.bumped, 0)
      }
      return
    case 'task.succeeded':
    case 'task.failed':
    case 'task.stopped':
      task.state = event.type.slice('task.'.length) as TaskState
      return
    case 'task.removed':
      return
  }
}
