// plan(state, resources, limits) -> spawn effects: the due tasks to start now, in order, while they fit.
import type { Effect } from './actions.js'
import { admissionBlock, memoryNeed, neverFits, type Blocked, type Limits, type Resources } from './admission.js'
import type { State } from './state.js'

export interface Plan {
  effects: Effect[]
  /** The first due task held back, and why; every later one waits behind it. */
  blocked: Blocked | null
}

/** Runs the state does not show yet or any more, which still take a slot. */
export interface InFlight {
  /** Due tasks whose process is being started: not to be started again, and counted as running. */
  starting: ReadonlySet<string>
  /** Processes still ending whose task is gone (removed). */
  draining: number
}

const NONE: InFlight = { starting: new Set(), draining: 0 }

export function plan(state: State, resources: Resources, limits: Limits, inFlight: InFlight = NONE): Plan {
  const effects: Effect[] = []
  let reserved = 0
  const busy = state.running.size + inFlight.starting.size + inFlight.draining
  for (const task of state.ready.ordered()) {
    if (inFlight.starting.has(task.spec.name)) continue
    // One that can never fit waits without holding the queue (its waitingReason says why).
    if (neverFits(task, limits) !== null) continue
    const reason = admissionBlock(task, busy + effects.length, reserved, resources, limits)
    if (reason !== null) return { effects, blocked: { task: task.spec.name, reason } }
    effects.push({ type: 'spawn', task: task.spec.name })
    reserved += memoryNeed(task, limits)
  }
  return { effects, blocked: null }
}
