// Boot beside a launcher that kept runs: which runs the new daemon re-adopts, which exits it records,
// and what is left to the at-least-once path (runs recorded as running that nobody kept).
import { isMine, myRuns, type State } from '../core/state.js'
import { runKey, type LaunchExit, type RunInfo } from './launcher-protocol.js'

export interface AdoptionPlan {
  /** Tasks whose run goes on or ended with a known status: not to be recorded `interrupted`. */
  keep: string[]
  /** Runs recorded as running that the launcher still keeps: watched again as they are. */
  adopt: RunInfo[]
  /** Runs the launcher started whose start was never recorded (the daemon died first). */
  unrecorded: RunInfo[]
  /** Exits of runs recorded as running that ended while no daemon was there. */
  exits: LaunchExit[]
  /** Exits of runs whose start was never recorded either: recorded as a start and its end. */
  unrecordedExits: LaunchExit[]
  /** Live runs that belong to no task that could own them (removed meanwhile): ended. */
  orphans: RunInfo[]
  /** Exits nothing owns any more: forgotten. */
  stale: LaunchExit[]
}

/** The same run on both sides: same pid and, where both know it, the same start time. */
const sameRun = (pid: number, pidStart: string | null, other: { pid: number; pidStart: string | null }): boolean =>
  pid === other.pid && (pidStart === null || other.pidStart === null || pidStart === other.pidStart)

export function planAdoption(state: State, kept: { runs: readonly RunInfo[]; exits: readonly LaunchExit[] }): AdoptionPlan {
  const plan: AdoptionPlan = { keep: [], adopt: [], unrecorded: [], exits: [], unrecordedExits: [], orphans: [], stale: [] }
  const claimed = new Set<string>()
  for (const task of myRuns(state)) {
    const { pid, pidStart } = task
    if (pid === null) continue
    const run = kept.runs.find((r) => r.task === task.spec.name && sameRun(pid, pidStart, r))
    const exit = kept.exits.find((e) => e.task === task.spec.name && sameRun(pid, pidStart, e))
    if (run !== undefined) plan.adopt.push(run)
    else if (exit !== undefined) plan.exits.push(exit)
    else continue
    plan.keep.push(task.spec.name)
    claimed.add(runKey((run ?? exit)?.pid ?? pid, (run ?? exit)?.pidStart ?? null))
  }
  // A run started but never recorded belongs to its task if that task still waits to start (ready).
  // In a cluster, only if the claim of it in the log is still this node's (it was not lost meanwhile).
  const startable = (name: string): boolean => {
    const task = state.tasks.get(name)
    if (task?.state !== 'ready' || plan.keep.includes(name)) return false
    return !state.config.shared || (task.claimed && isMine(state, task))
  }
  for (const run of kept.runs) {
    if (claimed.has(runKey(run.pid, run.pidStart))) continue
    if (startable(run.task)) {
      plan.unrecorded.push(run)
      plan.keep.push(run.task)
    } else plan.orphans.push(run)
  }
  for (const exit of kept.exits) {
    if (claimed.has(runKey(exit.pid, exit.pidStart))) continue
    if (startable(exit.task)) {
      plan.unrecordedExits.push(exit)
      plan.keep.push(exit.task)
    } else plan.stale.push(exit)
  }
  return plan
}
