// Actions: everything that can happen to the queue, as plain data. Time and randomness come inside.
import type { Limits, Resources } from './admission.js'
import type { KillCause, TaskSpec } from './types.js'

export type { KillCause } from './types.js'

/** What the monitor measured of one run's process tree. */
export interface RunSample {
  pid: number
  memory: number
}

export type Action =
  | { type: 'add'; now: number; spec: TaskSpec }
  | { type: 'apply'; now: number; specs: TaskSpec[]; prune: boolean }
  | { type: 'remove'; now: number; name: string }
  | { type: 'run'; now: number; name: string }
  /** Run a finished task again; `spec` is its recorded definition, to re-add it if it was removed. */
  | { type: 'replay'; now: number; name: string; spec: TaskSpec }
  | { type: 'stop'; now: number; name: string }
  /** Stop the running process and start it again at once (no failure, no retry spent); else run it. */
  | { type: 'restart'; now: number; name: string }
  | { type: 'clock'; now: number }
  /** A daemon starts: runs recorded as running end as interrupted, but those a launcher kept (`keep`). */
  | { type: 'boot'; now: number; keep?: readonly string[] }
  /** The daemon is going down: every run is ended (recorded `interrupted`, to resume on the next start). */
  | { type: 'shutdown'; now: number }
  /**
   * Time to look ahead: the forecast (run with these figures) says which deadline tasks are now
   * expected to miss their deadline (`task.at-risk`, once a cycle).
   */
  | { type: 'assess'; now: number; slots: number; unknownMs: number; limits?: Limits }
  /** The monitor measured the running process trees: a run over its memory limit is ended. */
  | { type: 'sampled'; now: number; samples: readonly RunSample[] }
  /** The planner asks room for `for` (near its deadline, no slot free): the run of `name` is stopped. */
  | { type: 'preempt'; now: number; name: string; for: string }
  | { type: 'started'; now: number; name: string; pid: number; pidStart?: string | null }
  /**
   * A cluster node's turn to start work: the due tasks its own slots, CPU and memory admit (the
   * planner, on the log as it now stands) are claimed (`run.claimed`), to be started once committed.
   */
  | { type: 'claim'; now: number; resources: Resources; limits: Limits }
  /** A cluster node fell silent past its timeout: its runs and claims end `interrupted` and are queued again. */
  | { type: 'lost'; now: number; node: string; silentMs: number }
  | {
      type: 'exited'
      now: number
      name: string
      /** Pid of the run that ended; null when the spawn itself failed. */
      pid: number | null
      code: number | null
      signal: string | null
      /**
       * What the runtime knows that the core does not: the kernel ended it for its memory limit
       * (`memory`), or its keeper was lost (`shutdown`). The supervisor's own kills the core knows.
       */
      cause: KillCause | null
      /** Highest memory of the run's process tree the monitor saw, if it saw any. */
      peakMemory?: number
      /** The run's last stderr lines and their fingerprint (see failures.ts). */
      stderr?: string
      fingerprint?: string
      /** When the run ended, if not `now` (it ended while no daemon was there): its duration ends there. */
      endedAt?: number
      /** Uniform in [-1, 1]: the retry wait's jitter. */
      jitter: number
      error?: string
    }

/** What the runtime must do after an action: the only way the core reaches processes. */
export type Effect =
  | { type: 'spawn'; task: string }
  /** Stop the preemptible run of `task` to make room for `for` (the core decides it: a `preempt` action). */
  | { type: 'preempt'; task: string; for: string }
  /** Signal a run's process group (never a pid whose exit was reported: the runtime guards that). */
  | { type: 'signal'; task: string; pid: number; signal: 'SIGTERM' | 'SIGKILL' }
