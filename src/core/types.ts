// The data model of the queue: task definitions, live task records and the events of the history.

export const PRIORITIES = ['high', 'medium', 'low'] as const
export type Priority = (typeof PRIORITIES)[number]

export const RESTARTS = ['never', 'on-failure', 'always'] as const
export type Restart = (typeof RESTARTS)[number]

/** What a deadline does: `run` late anyway; `skip` a task not started by then; `kill` a run still going then. */
export const ON_DEADLINE = ['run', 'skip', 'kill'] as const
export type OnDeadline = (typeof ON_DEADLINE)[number]

/** A cron slot the daemon was not there for (down, asleep): run once for all missed, or skip them. */
export const MISSED_POLICIES = ['once', 'skip'] as const
export type MissedPolicy = (typeof MISSED_POLICIES)[number]

/** A cron slot that comes while the previous cycle still goes on: skip it, run after it, or end it and run. */
export const OVERLAP_POLICIES = ['skip', 'queue', 'replace'] as const
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number]

/** `expired`: its deadline passed before it started, and its `onDeadline` is `skip`. */
export type TaskState = 'scheduled' | 'ready' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'stopped' | 'expired' | 'skipped'
/**
 * How a run ended. `stopped`: ended on purpose (stop, remove, restart): never a failure. `killed`: by a
 * signal it did not ask for (its memory limit, or someone outside the supervisor): `cause` says which.
 */
export type Outcome = 'succeeded' | 'failed' | 'timeout' | 'killed' | 'interrupted' | 'stopped' | 'deadline' | 'preempted'

/**
 * Why the supervisor ends a run: a user's stop, remove or restart, its timeout, its memory limit, the
 * daemon's shutdown (the run is `interrupted`, to resume on the next start).
 */
export type KillCause = 'stop' | 'timeout' | 'memory' | 'shutdown' | 'remove' | 'restart' | 'deadline' | 'preempt' | 'replace'

/** A run being ended: why, and when SIGKILL follows the SIGTERM it was sent (null once sent). */
export interface Stopping {
  cause: KillCause
  killAt: number | null
}

/** Retry timing: wait base * factor^(n-1), jittered by at most ±20 %, never above cap. */
export interface BackoffPolicy {
  baseMs: number
  factor: number
  capMs: number
}

/** A validated, resolved task definition: what a user declared, with dates and sizes as numbers. */
export interface TaskSpec {
  name: string
  script: string
  args: string[]
  /** Epoch ms at which the task becomes due. */
  at: number
  deadline: number | null
  onDeadline: OnDeadline
  /** Cron slots the daemon was not there for. */
  missed: MissedPolicy
  /** A cron slot that comes while the previous cycle (its run or retries) still goes on. */
  overlap: OverlapPolicy
  /** Its run may be stopped to make room for a task that would otherwise miss its deadline. */
  preemptible: boolean
  /** Due only by `run`, `replay` or a trigger (`at: "manual"`), never by its date. */
  manual: boolean
  /** Tasks that must each have succeeded since this task's cycle began before it is due. */
  after: string[]
  /** Nodes of a cluster it may run on (`--node`); empty: any. */
  nodes: string[]
  /** Tasks made due when a run of this one succeeds. */
  onSuccess: string[]
  /** Tasks made due when this one fails for good or misses its deadline; null: the daemon's default. */
  onFailure: string[] | null
  priority: Priority
  front: boolean
  retries: number
  restart: Restart
  cron: string | null
  /** IANA time zone of the cron schedule; null: the daemon's local time. */
  cronTz: string | null
  /** Retry timing of this task; null: the daemon's. */
  backoff: BackoffPolicy | null
  timeoutMs: number | null
  /** How long a run is expected to take (`expect`), until runs have shown it; null: not said. */
  expectMs: number | null
  memoryBytes: number | null
  cwd: string | null
  env: Record<string, string>
  /** A dotenv file read at each start (absolute); `env` wins over it. */
  envFile: string | null
  user: string | null
  /** Digest of the definition as written, to tell a changed definition from a re-applied one. */
  digest: string
}

/** A task as the scheduler holds it: its definition plus where it stands now. */
export interface Task {
  spec: TaskSpec
  state: TaskState
  /** Effective priority now (deadline bump and failure demotion applied). */
  priority: Priority
  bumped: boolean
  consecutiveFailures: number
  /** Which backoff step the last retry waited (1 for the first); 0 after a restart without a wait. */
  retryStep: number
  attempts: number
  /** Epoch ms at which it became or becomes due (its `at`, its backoff end, or the moment `run` was asked). */
  dueAt: number
  /** Seq of the event that last put it in the queue: insertion order, and front order. */
  queuedSeq: number
  lastExitCode: number | null
  lastOutcome: Outcome | null
  pid: number | null
  /** Start time of the run's process as /proc gives it, so a reused pid is never taken for it. */
  pidStart: string | null
  runStartedAt: number | null
  /** Its definition changed while it ran: when the run ends, a new cycle starts with the new one. */
  rearm: boolean
  /** Highest memory of its process tree seen in any run, in bytes: its admission estimate. */
  peakMemory: number | null
  /** Its run is being ended, and why: the run's outcome follows from it, whoever reports the exit. */
  stopping: Stopping | null
  /** How long its last successful runs took (ms), oldest first, at most RECENT_DURATIONS of them. */
  durations: readonly number[]
  /** Its deadline passed in this cycle before it succeeded (`task.deadline-missed` was logged). */
  missed: boolean
  /** The forecast said in this cycle that it would end after its deadline (`task.at-risk` was logged). */
  atRisk: boolean
  /** A cron task's next slot while its cycle goes on (running or retrying): when an overlap is decided. */
  slotAt: number | null
  /** A slot that came during the cycle, to run when it ends (`overlap: queue` or `replace`). */
  slotQueued: number | null
  /**
   * Since when its prerequisites' successes count (epoch ms; kept for tasks with `after` only, else 0):
   * when its cycle began, or for a cron task the slot before its current one.
   */
  cycleSince: number
  /** When it last succeeded (epoch ms, 0: never): whether that was within a dependent's cycle. */
  lastSuccessAt: number
  /** Its date came and it waits for its prerequisites (`task.awaiting`). */
  awaiting: boolean
  /** What made its current cycle due, if a trigger did: the runs see it in their environment. */
  trigger: Trigger | null
  /** The node its current run (or claim) is on, else the node of its last run; null: never ran. */
  node: string | null
  /** A node of a cluster claimed its start (`run.claimed`), and has not reported it yet. */
  claimed: boolean
  /** Position in the ready heap and the timer heap (-1 when absent); owned by the heaps. */
  readyPos: number
  timerPos: number
  /** Next time something changes for this task without any input (due or deadline window), or null. */
  wakeAt: number | null
}

/** The run that set off a trigger (`onSuccess`, `onFailure`): its task, outcome, exit code. */
export interface Trigger {
  task: string
  outcome: string
  exitCode: number | null
  /** On a task: the seq of the `task.triggered` event that made it due. */
  seq?: number
}

/** Why a cycle was skipped: what its prerequisite did (`finished`: it ran before this cycle began, and will not again by itself). */
export type SkipReason = 'failed' | 'stopped' | 'expired' | 'skipped' | 'removed' | 'finished'

interface EventBase {
  seq: number
  time: string
  task: string
}

export type TaskEvent =
  | (EventBase & { type: 'task.added'; spec: TaskSpec })
  | (EventBase & { type: 'task.updated'; spec: TaskSpec })
  | (EventBase & { type: 'task.removed' })
  | (EventBase & { type: 'task.due'; reason: 'date' | 'backoff' | 'manual' | 'interrupted' | 'restart' | 'preempted' | 'overlap' | 'after' })
  /** Made due by another task's run (`onSuccess`, `onFailure`). */
  | (EventBase & { type: 'task.triggered'; trigger: Trigger })
  /** Its date came; it waits until each of `after` has succeeded in its cycle. */
  | (EventBase & { type: 'task.awaiting'; after: string[] })
  /** Its cycle ends without a run: prerequisite `after` will not succeed in it (`reason` says why). */
  | (EventBase & { type: 'task.skipped'; after: string; reason: SkipReason })
  | (EventBase & { type: 'task.priority'; from: Priority; to: Priority; reason: 'deadline' | 'failures' })
  /**
   * A node of a cluster takes the task's next start: committed before the process starts, so no other
   * node can start it too (the log's order decides between two claims).
   */
  | (EventBase & { type: 'run.claimed'; node: string })
  /**
   * `slot`: for a cron task's first run of a cycle, its next slot after the start (null: none). `node`:
   * where it runs (absent in events written before nodes were recorded).
   */
  | (EventBase & { type: 'run.started'; pid: number; attempt: number; pidStart: string | null; slot?: string | null; node?: string })
  /**
   * The supervisor ends a run: `signal` sent to its process group now (null: none, only the cause
   * changed: a user stopped a run that was timing out); SIGKILL follows at `killAt` if it is still
   * there (null: it was sent). Logged so that a daemon started meanwhile knows why and goes on.
   */
  | (EventBase & { type: 'run.stopping'; pid: number; cause: KillCause; signal: 'SIGTERM' | 'SIGKILL' | null; killAt: string | null })
  | (EventBase & {
      type: 'run.exited'
      /** The run's pid; null when the spawn failed. Only that run's task record is changed by it. */
      pid: number | null
      code: number | null
      signal: string | null
      outcome: Outcome
      durationMs: number
      /** Why it ended, in words, when the supervisor knows more than the code or signal says. */
      cause?: string
      /** Highest memory of the run's process tree seen while it ran, in bytes. */
      peakMemory?: number
      /** The run's last stderr lines, and a digest of them that ignores numbers: the error's fingerprint. */
      stderr?: string
      fingerprint?: string
      error?: string
    })
  | (EventBase & { type: 'task.retrying'; at: string; attempt: number; step: number })
  | (EventBase & { type: 'task.scheduled'; at: string; reason: 'cron' | 'updated' })
  /** The forecast expects it to end after its deadline (null: not to start within the forecast); once a cycle. */
  | (EventBase & { type: 'task.at-risk'; deadline: string; expectedEnd: string | null })
  /** Its deadline passed before it succeeded in its cycle; once a cycle. */
  | (EventBase & { type: 'task.deadline-missed'; deadline: string })
  /** Not started by its deadline, with `onDeadline: skip`: the cycle ends. */
  | (EventBase & { type: 'task.expired' })
  /** A cron slot came while the cycle before it still went on; `policy` says what was done; `next` slot. */
  | (EventBase & { type: 'task.slot-overlap'; at: string; policy: OverlapPolicy; next: string | null })
  /** A cron slot the daemon was not there for (it started after it, or got to it over a minute late). */
  | (EventBase & { type: 'task.slot-missed'; at: string; policy: MissedPolicy })
  | (EventBase & { type: 'task.succeeded' })
  | (EventBase & { type: 'task.failed' })
  | (EventBase & { type: 'task.stopped' })

export type EventType = TaskEvent['type']

/** An event before the log gives it its seq and time. */
export type NewEvent = TaskEvent extends infer E ? (E extends TaskEvent ? Omit<E, 'seq' | 'time'> : never) : never

/** Every event type, for the places that name them (webhook filters): the union's own list. */
export const EVENT_TYPES = [
  'task.added', 'task.updated', 'task.removed', 'task.due', 'task.priority', 'task.triggered', 'task.awaiting', 'task.skipped',
  'run.claimed', 'run.started', 'run.stopping', 'run.exited', 'task.retrying', 'task.scheduled', 'task.succeeded', 'task.failed', 'task.stopped',
  'task.expired', 'task.at-risk', 'task.deadline-missed', 'task.slot-overlap', 'task.slot-missed',
] as const satisfies readonly TaskEvent['type'][]
// A type left out of the list above fails to compile here.
const _everyType: Exclude<TaskEvent['type'], (typeof EVENT_TYPES)[number]> extends never ? true : never = true
void _everyType

export const LIVE_STATES: ReadonlySet<TaskState> = new Set(['scheduled', 'ready', 'running', 'retrying'])
