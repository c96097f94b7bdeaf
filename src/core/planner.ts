// plan(state, resources, limits) -> spawn effects: the due tasks to start now, in order, while they fit.
import type { Effect } from './actions.js'
import { admissionBlock, memoryNeed, type Blocked, type Limits, type Resources } from './admission.js'
import type { State } from './state.js'

export interface Plan {
  effects: Effect[]
  /** The first due task held back, and why; every later one waits behind it. */
  blocked: Blocked | null
}

/** `draining`: processes still ending that no task counts any more (their task was removed). */
export function plan(state: State, resources: Resources, limits: Limits, draining = 0): Plan {
  const effects: Effect[] = []
  let reserved = 0
  for (const task of state.ready.ordered()) {
    const reason = admissionBlock(task, state.running.size + draining + effects.length, reserved, resources, limits)
    if (reason !== null) return { effects, blocked: { task: task.spec.name, reason } }
    effects.push({ type: 'spawn', task: task.spec.name })
    reserved += memoryNeed(task, limits)
  }
  return { effects, blocked: null }
}
