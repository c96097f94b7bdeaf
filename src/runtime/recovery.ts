// Boot after a crash: end what the dead daemon left running, before anything starts again.
import { myRuns, type State } from '../core/state.js'
import { processStartTime, strayGroups } from './proc.js'
import type { Spawner } from './ports.js'

/**
 * Process groups to end: each recorded run whose leader is still the same process (same pid and
 * start time, so a reused pid is never touched), and any process whose environment marks it as a run
 * of this home (started just before a crash, or escaped into a new session).
 */
export function leftoverGroups(state: State, home: string, spare: ReadonlySet<number> = new Set()): Set<number> {
  const groups = strayGroups(home)
  for (const task of myRuns(state)) {
    if (task.pid !== null && task.pidStart !== null && processStartTime(task.pid) === task.pidStart) groups.add(task.pid)
  }
  // Runs a launcher kept (and what they started in their cgroups) are re-adopted, not ended.
  for (const pid of spare) groups.delete(pid)
  return groups
}

/** After SIGKILL, how long to wait for the kernel and init to clear a group before going on anyway. */
const REAP_WAIT_MS = 5000

/**
 * SIGTERM each group, SIGKILL what outlives `graceMs`, and wait until all are gone. Killed members
 * that init has not reaped yet still count as a group: past REAP_WAIT_MS they are left to it.
 */
export async function endGroups(groups: ReadonlySet<number>, spawner: Spawner, graceMs: number): Promise<void> {
  let alive = [...groups].filter((pgid) => spawner.signalGroup(pgid, 'SIGTERM'))
  const killAt = Date.now() + graceMs
  const giveUpAt = killAt + REAP_WAIT_MS
  while (alive.length > 0 && Date.now() < giveUpAt) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    const signal = Date.now() >= killAt ? 'SIGKILL' : 0
    alive = alive.filter((pgid) => spawner.signalGroup(pgid, signal))
  }
}
