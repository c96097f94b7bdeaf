// The runtime's edges: time, processes and machine samples, real here and faked in tests.
import type { Resources } from '../core/admission.js'
import type { TaskSpec } from '../core/types.js'
import type { LaunchExit, RunInfo } from './launcher-protocol.js'

export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

export interface ExitStatus {
  pid: number
  code: number | null
  signal: string | null
  /** The leader's start time (with the pid, it names the run for good). */
  pidStart?: string | null
  /** When the leader ended, if it was not just now (it ended while no daemon was there). */
  endedAt?: number
  /** Ended by a failure of the supervisor's own (its launcher died), not by the task: no retry spent. */
  interrupted?: boolean
  /** The kernel ended a process of the run for passing its memory limit (cgroups only). */
  oom?: boolean
  /** The most memory the run used, as its cgroup counted it. */
  peak?: number
}

export type SpawnResult = { pid: number; pidStart: string | null } | { error: string }

export interface Spawner {
  /**
   * Start `spec` in its own process group with its output going to the task's logs; `onExit` is
   * called once when the process ends. Resolves once the process runs or failed to start.
   */
  spawn(spec: TaskSpec, onExit: (status: ExitStatus) => void): Promise<SpawnResult>
  /** Signal a whole process group; false if it is already gone. */
  signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean
  /** Whether any process of the group is left (without signalling it); absent on fakes. */
  groupAlive?(pid: number): boolean
  /** Whether the kernel holds runs to their `memory`, so that the daemon need not poll for it. */
  readonly kernelMemoryLimit?: boolean
  /** How runs are contained (cgroups or process groups), in words. */
  readonly containment?: string
  /** The pid of the helper process that forks the runs, if there is one now. */
  readonly launcherPid?: number | null
  /** End and remove what runs of a daemon that died left in their cgroups, but the kept runs'. */
  endLeftoverCgroups?(keep?: ReadonlySet<string>): void
  /** The processes of a kept run (its leader, and its cgroup's members). */
  runMembers?(run: RunInfo): number[]
  /** Connect to (or start) the helper that keeps the runs: the runs it kept and the exits it owes. */
  attach?(): Promise<{ runs: RunInfo[]; exits: LaunchExit[] }>
  /** Watch a run kept from an earlier daemon. */
  adopt?(run: RunInfo, onExit: (status: ExitStatus) => void): void
  /** An exit is committed: the helper may forget it. */
  acknowledge?(pid: number, pidStart: string | null): void
  /** Release what it holds (helper processes) once no run is left. */
  close?(): Promise<void> | void
  /** Let go of the helper but leave the runs running, for the next daemon. */
  detach?(): Promise<void>
}

/** Memory (RSS, bytes) and CPU (% of one core) of a whole process group. */
export interface GroupUsage {
  memory: number
  cpu: number
}

export interface UsageProbe {
  /** Usage of each process group that still has members. */
  measure(pgids: readonly number[]): Promise<Map<number, GroupUsage>>
}

export interface SystemProbe {
  sample(): Promise<Resources & { totalBytes: number }>
}
