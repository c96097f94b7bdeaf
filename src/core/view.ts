// The public JSON shape of a task (contract: `list --json`, `status --json`, `tasks.get`).
import { expectedDuration } from './deadline.js'
import type { Outcome, Priority, Task, TaskState } from './types.js'

export interface TaskView {
  name: string
  state: TaskState
  priority: Priority
  basePriority: Priority
  at: string
  deadline: string | null
  /** What its deadline does: run (late anyway), skip, kill. */
  onDeadline: string
  preemptible: boolean
  front: boolean
  attempts: number
  retries: number
  restart: string
  lastExitCode: number | null
  lastOutcome: Outcome | null
  pid: number | null
  /** The node its run (or claim) is on, else the node of its last run; null: it never ran. */
  node: string | null
  /** The nodes it may run on (empty: any). */
  nodes: string[]
  waitingReason: string | null
  script: string
  args: string[]
  cwd: string | null
  cron: string | null
  timeoutMs: number | null
  /** Its definition's `expect` (ms), null if not given. */
  expectMs: number | null
  /** How long a run is expected to take: learned from its last successful runs, else `expectMs`, else null. */
  expectedDurationMs: number | null
  memoryBytes: number | null
  user: string | null
  /** When it falls due next (its `at`, its backoff end), for scheduled and retrying tasks. */
  nextRunAt: string | null
  /** The time zone of its cron schedule (null: the daemon's). */
  tz: string | null
  /** Its cron policies: slots the daemon was not there for (once|skip), and a slot while a run goes on (skip|queue|replace). */
  missed: string
  overlap: string
  /** Due only by run, replay or a trigger (`at: "manual"`). */
  manual: boolean
  /** Its prerequisites, the tasks that name it in theirs, and its trigger targets (null: the daemon's default). */
  after: string[]
  dependents: string[]
  onSuccess: string[]
  onFailure: string[] | null
  /** The names of its own environment variables (never their values: views go to read tokens too). */
  envNames: string[]
  /** Its env file's path (its values are read at each start and never shown). */
  envFile: string | null
  /** When its current run started (null unless running). */
  runStartedAt: string | null
  /** Its run is being ended: why, and when SIGKILL follows if it is still there (null once sent). */
  stopping: { cause: string; killAt: string | null } | null
  /** When the forecast expects its next (or current) run to start and end; null beyond its horizon. */
  expectedStart: string | null
  expectedEnd: string | null
  /** A deadline task expected to end after its deadline (or not to start within the horizon before it). */
  atRisk: boolean
}

/** What the forecast says of a task (see forecast.ts); none for a finished task. */
export interface TaskTimes {
  expectedStart: string | null
  expectedEnd: string | null
  atRisk: boolean
}

export const NO_TIMES: TaskTimes = Object.freeze({ expectedStart: null, expectedEnd: null, atRisk: false })

const iso = (ms: number): string => new Date(ms).toISOString()

export function taskView(task: Task, waitingReason: string | null, times: TaskTimes = NO_TIMES, dependents: readonly string[] = []): TaskView {
  const { spec } = task
  return {
    name: spec.name,
    state: task.state,
    priority: task.priority,
    basePriority: spec.priority,
    at: iso(spec.at),
    deadline: spec.deadline === null ? null : iso(spec.deadline),
    onDeadline: spec.onDeadline,
    preemptible: spec.preemptible,
    front: spec.front,
    attempts: task.attempts,
    retries: spec.retries,
    restart: spec.restart,
    lastExitCode: task.lastExitCode,
    lastOutcome: task.lastOutcome,
    pid: task.pid,
    node: task.node,
    nodes: spec.nodes,
    waitingReason,
    script: spec.script,
    args: spec.args,
    cwd: spec.cwd,
    cron: spec.cron,
    timeoutMs: spec.timeoutMs,
    expectMs: spec.expectMs,
    expectedDurationMs: expectedDuration(task),
    memoryBytes: spec.memoryBytes,
    user: spec.user,
    // A manual task has no next run until it is asked for one.
    nextRunAt: (task.state === 'scheduled' && !spec.manual) || task.state === 'retrying' ? iso(task.dueAt) : null,
    tz: spec.cronTz,
    missed: spec.missed,
    overlap: spec.overlap,
    manual: spec.manual,
    after: spec.after,
    dependents: [...dependents],
    onSuccess: spec.onSuccess,
    onFailure: spec.onFailure,
    envNames: Object.keys(spec.env),
    envFile: spec.envFile,
    runStartedAt: task.runStartedAt === null ? null : iso(task.runStartedAt),
    stopping: task.stopping === null ? null : { cause: task.stopping.cause, killAt: task.stopping.killAt === null ? null : iso(task.stopping.killAt) },
    ...times,
  }
}
