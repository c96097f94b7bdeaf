// Deadline urgency: when a task's deadline window opens, and when it next needs the clock.
import { LIVE_STATES, type Task } from './types.js'

export const DEFAULT_URGENCY_MS = 5 * 60_000

/** Epoch ms at which the task enters its deadline window, or null if it has no deadline. */
export function windowOpensAt(task: Task, urgencyMs: number): number | null {
  return task.spec.deadline === null ? null : task.spec.deadline - urgencyMs
}

export function isUrgent(task: Task, now: number, urgencyMs: number): boolean {
  const opens = windowOpensAt(task, urgencyMs)
  return opens !== null && opens <= now
}

/**
 * The next moment the clock alone changes this task: it falls due, its deadline window opens, its run
 * reaches its timeout, or the SIGKILL owed to a run being ended is due.
 */
export function nextWake(task: Task, urgencyMs: number): number | null {
  let wake: number | null = null
  if (task.state === 'scheduled' || task.state === 'retrying') wake = task.dueAt
  else if (task.pid !== null) wake = runWake(task)
  if (!task.bumped && LIVE_STATES.has(task.state)) {
    const opens = windowOpensAt(task, urgencyMs)
    if (opens !== null) wake = wake === null ? opens : Math.min(wake, opens)
  }
  return wake
}

/** When the clock next changes a running task: its SIGKILL, once it is being ended; else its timeout. */
export function runWake(task: Task): number | null {
  if (task.stopping !== null) return task.stopping.killAt
  if (task.spec.timeoutMs === null || task.runStartedAt === null) return null
  return task.runStartedAt + task.spec.timeoutMs
}
