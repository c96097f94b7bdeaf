// plan(state, resources, limits) -> spawn effects: the due tasks to start now, in order, while they fit.
import type { Effect } from './actions.js'
import { admissionBlock, memoryNeed, neverFits, type Blocked, type Limits, type Resources } from './admission.js'
import { rank } from './priority.js'
import { myBusy, myRuns, placedHere, type State } from './state.js'
import type { Task } from './types.js'

export interface Plan {
  effects: Effect[]
  /** The first due task held back, and why; every later one waits behind it. */
  blocked: Blocked | null
}

/**
 * The run to stop for `urgent`, a task whose deadline window is open (it must start now to end in
 * time): a preemptible run that is neither being ended nor itself near its deadline, the lowest in
 * priority, the latest started. None while a preemption is already under way (a slot is coming).
 */
function preemptionFor(state: State, urgent: Task): Task | null {
  if (!urgent.bumped || urgent.spec.deadline === null) return null
  let victim: Task | null = null
  for (const task of myRuns(state)) {
    if (task.stopping?.cause === 'preempt') return null
    if (!task.spec.preemptible || task.stopping !== null || task.pid === null || (task.bumped && task.spec.deadline !== null)) continue
    const lower = victim === null || rank(task.priority) > rank(victim.priority) ||
      (rank(task.priority) === rank(victim.priority) && (task.runStartedAt ?? 0) > (victim.runStartedAt ?? 0))
    if (lower) victim = task
  }
  return victim
}

/**
 * The due tasks to start now. Runs the state does not show as running take a slot too: launches not
 * yet reported (`starting`: not started again either) and runs still ending whose task was removed.
 */
export function plan(state: State, resources: Resources, limits: Limits): Plan {
  const effects: Effect[] = []
  let reserved = 0
  const busy = myBusy(state)
  for (const task of state.ready.ordered()) {
    // Claimed or starting (here or on another node), or placed on other nodes: not this node's to start.
    if (state.starting.has(task.spec.name) || !placedHere(state, task)) continue
    // One that can never fit waits without holding the queue (its waitingReason says why).
    if (neverFits(task, limits) !== null) continue
    const reason = admissionBlock(task, busy + effects.length, reserved, resources, limits)
    if (reason !== null) {
      // A task near its deadline held back for want of a slot may have a preemptible run make room.
      const victim = busy + effects.length >= limits.maxConcurrent ? preemptionFor(state, task) : null
      if (victim !== null) effects.push({ type: 'preempt', task: victim.spec.name, for: task.spec.name })
      return { effects, blocked: { task: task.spec.name, reason } }
    }
    effects.push({ type: 'spawn', task: task.spec.name })
    reserved += memoryNeed(task, limits)
  }
  return { effects, blocked: null }
}
