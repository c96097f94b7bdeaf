// Effective priority: the base class, demoted by repeated failures, bumped to high near a deadline.
import { PRIORITIES, type Priority } from './types.js'

/** Consecutive failed runs that cost one priority class. */
export const FAILURES_PER_DEMOTION = 2

export function rank(priority: Priority): number {
  return PRIORITIES.indexOf(priority)
}

export function effectivePriority(base: Priority, bumped: boolean, consecutiveFailures: number): Priority {
  if (bumped) return 'high'
  const drop = Math.floor(consecutiveFailures / FAILURES_PER_DEMOTION)
  return PRIORITIES[Math.min(rank(base) + drop, PRIORITIES.length - 1)] as Priority
}
