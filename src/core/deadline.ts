// Deadline urgency: when a task's deadline window opens, and when it next needs the clock.
import { LIVE_STATES, type Task } from './types.js'

export const DEFAULT_URGENCY_MS = 5 * 60_000

/** The percentile of its recent successful runs a task is expected to take: a high one, not the typical. */
const EXPECTED_PERCENTILE = 0.9

/**
 * How long a run of the task is expected to take: the 90th percentile (nearest rank) of its last
 * successful runs, else what its definition says (`expect`), else null (not known).
 */
export function expectedDuration(task: Pick<Task, 'spec' | 'durations'>): number | null {
  const { durations } = task
  if (durations.length === 0) return task.spec.expectMs
  const sorted = [...durations].sort((a, b) => a - b)
  return sorted[Math.ceil(EXPECTED_PERCENTILE * sorted.length) - 1] as number
}

/**
 * Epoch ms at which the task enters its deadline window, or null if it has no deadline: the window
 * opens `urgencyMs` before the latest start that still ends by the deadline (its slack runs out).
 */
export function windowOpensAt(task: Pick<Task, 'spec' | 'durations'>, urgencyMs: number): number | null {
  return task.spec.deadline === null ? null : task.spec.deadline - (expectedDuration(task) ?? 0) - urgencyMs
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
  // A manual task is due only when asked; one waiting for its prerequisites, when they end.
  if ((task.state === 'scheduled' && !task.spec.manual && !task.awaiting) || task.state === 'retrying') wake = task.dueAt
  else if (task.pid !== null) wake = runWake(task)
  // A cron task's next slot during its cycle: its overlap policy decides then.
  const overlap = overlapAt(task)
  if (overlap !== null) wake = wake === null ? overlap : Math.min(wake, overlap)
  if (!task.bumped && LIVE_STATES.has(task.state)) {
    const opens = windowOpensAt(task, urgencyMs)
    if (opens !== null) wake = wake === null ? opens : Math.min(wake, opens)
  }
  const missed = missableDeadline(task)
  if (missed !== null) wake = wake === null ? missed : Math.min(wake, missed)
  return wake
}

/** When a cron task's next slot comes during its cycle (a run or its retries going on), or null. */
export function overlapAt(task: Task): number | null {
  if (task.spec.cron === null || task.slotAt === null) return null
  return task.pid !== null || task.state === 'retrying' ? task.slotAt : null
}

/**
 * The deadline this cycle can still miss: the task has not succeeded (nor been stopped or expired) and
 * the miss is not logged yet (`missed` also marks a cycle begun after its deadline: late by choice, not
 * a miss). Null when there is none.
 */
export function missableDeadline(task: Task): number | null {
  const { deadline } = task.spec
  if (deadline === null || task.missed) return null
  return LIVE_STATES.has(task.state) || task.state === 'failed' ? deadline : null
}

/** When the clock next changes a running task: its SIGKILL, once it is being ended; else its timeout. */
export function runWake(task: Task): number | null {
  if (task.stopping !== null) return task.stopping.killAt
  if (task.spec.timeoutMs === null || task.runStartedAt === null) return null
  return task.runStartedAt + task.spec.timeoutMs
}
