// Carrying out the core's signal effects on process groups, with the one rule the core cannot know:
// a pid whose exit the launcher reported is never signalled again, even before that exit is logged
// (the kernel may give the pid to an unrelated process at any moment).
//
// And one fallback: a kill the core decided while the log could not be written (a timeout falling due
// on a full disk) is carried out all the same. Its cause is kept here for the run's exit, and its
// SIGKILL sent from here after the kill timeout, until the run's exit is logged.
import type { Effect, KillCause } from '../core/actions.js'
import type { Decision } from '../core/decide.js'
import type { TaskEvent } from '../core/types.js'
import type { Spawner } from './ports.js'

interface UnloggedKill {
  cause: KillCause
  sentAt: number
  killed: boolean
}

export class Signals {
  /** Pids reported exited and not logged yet. */
  private readonly exited = new Set<number>()
  /** Kills carried out though their decision could not be logged, by pid. */
  private readonly unlogged = new Map<number, UnloggedKill>()

  constructor(private readonly spawner: Spawner) {}

  /** The launcher reported this pid's exit: from now on nothing signals it. */
  exitReported(pid: number): void {
    this.exited.add(pid)
  }

  /** Its exit is logged: the state no longer names the pid, so nothing will ask to signal it. */
  exitLogged(pid: number): void {
    this.exited.delete(pid)
  }

  hasExited(pid: number): boolean {
    return this.exited.has(pid)
  }

  execute(effects: readonly Effect[]): void {
    for (const effect of effects) {
      if (effect.type === 'signal') this.send(effect.pid, effect.signal)
    }
  }

  /** A decision whose events the log refused: its signals are sent anyway, their causes kept. */
  executeUnlogged(decision: Decision, now: number): void {
    const fresh = new Set<number>()
    for (const event of decision.events) {
      if (event.type !== 'run.stopping' || this.unlogged.has(event.pid)) continue
      this.unlogged.set(event.pid, { cause: event.cause, sentAt: now, killed: event.signal === 'SIGKILL' })
      fresh.add(event.pid)
    }
    // The same decision made again while the log still refuses it sends nothing twice.
    this.execute(decision.effects.filter((effect) => effect.type !== 'signal' || fresh.has(effect.pid)))
  }

  /** SIGKILL for unlogged kills left unanswered for the kill timeout. */
  escalate(now: number, killTimeoutMs: number): void {
    for (const [pid, kill] of this.unlogged) {
      if (kill.killed || now - kill.sentAt < killTimeoutMs) continue
      kill.killed = true
      this.send(pid, 'SIGKILL')
    }
  }

  /** Why this run was ended, if an unlogged kill ended it. */
  unloggedCause(pid: number): KillCause | null {
    return this.unlogged.get(pid)?.cause ?? null
  }

  /**
   * Logged events: a run whose exit the log holds is forgotten. One the log decides to end again once it
   * works keeps its first SIGTERM's time here, so its SIGKILL is not put off by the outage.
   */
  onLogged(events: readonly TaskEvent[]): void {
    if (this.unlogged.size === 0) return
    for (const event of events) {
      if (event.type === 'run.exited' && event.pid !== null) this.unlogged.delete(event.pid)
    }
  }

  /** Signal a run's process group; false when it is gone (or was reported exited). */
  send(pid: number, signal: 'SIGTERM' | 'SIGKILL'): boolean {
    if (this.exited.has(pid)) return false
    return this.spawner.signalGroup(pid, signal)
  }
}
