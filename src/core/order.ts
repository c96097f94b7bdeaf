// The one ordering rule of due tasks: which starts next.
import { rank } from './priority.js'
import type { Task } from './types.js'

/**
 * True if `a` starts before `b`: effective priority class, then front tasks (latest front insertion
 * first), then earliest deadline (any deadline before none), then earliest due time, then insertion order.
 */
export function startsBefore(a: Task, b: Task): boolean {
  return compareTasks(a, b) < 0
}

export function compareTasks(a: Task, b: Task): number {
  return (
    rank(a.priority) - rank(b.priority) ||
    compareFront(a, b) ||
    (a.spec.deadline ?? Infinity) - (b.spec.deadline ?? Infinity) ||
    a.dueAt - b.dueAt ||
    a.queuedSeq - b.queuedSeq
  )
}

function compareFront(a: Task, b: Task): number {
  if (a.spec.front !== b.spec.front) return a.spec.front ? -1 : 1
  return a.spec.front ? b.queuedSeq - a.queuedSeq : 0
}
