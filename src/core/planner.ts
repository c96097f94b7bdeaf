// plan(state, resources, limits) -> spawn effects: the due tasks to start now, in order, while they fit.
import type { Effect } from './actions.js'
import { admissionBlock, memoryNeed, neverFits, type Blocked, type Limits, type Resources } from './admission.js'
import type { State } from './state.js'

export interface Plan {
  effects: Effect[]
  /** The first due task held back, and why; every later one waits behind it. */
  blocked: Blocked | null
}

/**
 * The due tasks to start now. Runs the state does not show as running take a slot too: launches not
 * yet reported (`starting`: not started again either) and runs still ending whose task was removed.
 */
export function plan(state: State, resources: Resources, limits: Limits): Plan {
  const effects: Effect[] = []
  let reserved = 0
  const busy = state.running.size + state.starting.size + state.orphans.size
  for (const task of state.ready.ordered()) {
    if (state.starting.has(task.spec.name)) continue
    // One that can never fit waits without holding the queue (its waitingReason says why).
    if (neverFits(task, limits) !== null) continue
    const reason = admissionBlock(task, busy + effects.length, reserved, resources, limits)
    if (reason !== null) return { effects, blocked: { task: task.spec.name, reason } }
    effects.push({ type: 'spawn', task: task.spec.name })
    reserved += memoryNeed(task, limits)
  }
  return { effects, blocked: null }
}
