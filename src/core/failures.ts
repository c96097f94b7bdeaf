// Recurring failures: each failed run counted under its task and cause (exit code or signal, plus a
// fingerprint of its last stderr lines), so the same error seen a thousand times is one row.
import type { TaskEvent } from './types.js'

export interface ErrorGroup {
  task: string
  cause: string
  /** Short digest of the run's last stderr lines (empty if it wrote none). */
  fingerprint: string
  /** Those lines, from the latest run of the group. */
  stderr: string
  count: number
  firstSeen: string
  lastSeen: string
}

type Exited = Extract<TaskEvent, { type: 'run.exited' }>

/** The cause of a failed run, or null for runs that did not fail (succeeded, interrupted). */
export function failureCause(event: Exited): string | null {
  switch (event.outcome) {
    case 'succeeded':
    case 'interrupted':
    case 'stopped':
    case 'preempted':
      return null
    case 'timeout':
      return 'timeout'
    case 'deadline':
      return 'killed at its deadline'
    case 'killed':
      // One group per limit, not per peak: "memory limit 100M exceeded (peak 113M)" counts as its limit.
      if (event.cause !== undefined) return event.cause.replace(/ \(peak [^)]*\)$/, '')
      return event.signal === null ? 'killed' : `killed by ${event.signal}`
    case 'failed':
      if (event.error !== undefined) return `spawn error: ${event.error}`
      return event.signal === null ? `exit ${event.code ?? '?'}` : `signal ${event.signal}`
  }
}

export const groupKey = (task: string, cause: string, fingerprint: string): string => `${task}\u0000${cause}\u0000${fingerprint}`

/** Where groups are counted: a Map, or a view that keeps a batch's changes apart until it is written. */
export interface GroupTable {
  get(key: string): ErrorGroup | undefined
  set(key: string, group: ErrorGroup): unknown
}

/** The cause a missed deadline is counted under: one group a task, however many cycles missed it. */
export const MISSED_DEADLINE = 'missed its deadline'

/** Count one event into the groups (a failed run, a missed deadline); returns the group it changed, if any. */
export function countFailure(groups: GroupTable, event: TaskEvent): ErrorGroup | null {
  if (event.type !== 'run.exited' && event.type !== 'task.deadline-missed') return null
  const cause = event.type === 'task.deadline-missed' ? MISSED_DEADLINE : failureCause(event)
  if (cause === null) return null
  const fingerprint = event.type === 'run.exited' ? (event.fingerprint ?? '') : ''
  const stderr = event.type === 'run.exited' ? event.stderr : undefined
  const key = groupKey(event.task, cause, fingerprint)
  const current = groups.get(key)
  const next: ErrorGroup = current === undefined
    ? { task: event.task, cause, fingerprint, stderr: stderr ?? '', count: 1, firstSeen: event.time, lastSeen: event.time }
    : { ...current, stderr: stderr ?? current.stderr, count: current.count + 1, lastSeen: event.time }
  groups.set(key, next)
  return next
}
