// Versions of stored records, and the steps that carry an older record forward to the current shape.
import type { Outcome, Priority, TaskEvent, TaskSpec, TaskState } from '../core/types.js'
import type { StoredTask } from './store.js'
import { recordFrom, specFrom } from './codec.js'

/**
 * 1: the prototype's flat task record (definition and status side by side, dates as ISO strings);
 *    events as today but `run.exited` carried `exitCode`.
 * 2: the task's definition under `spec` with dates as epoch ms; `run.exited` carries `code`.
 * 3: as 2, but task records and the definitions in records and events leave out every field at its
 *    default (see codec.ts): a new task's record went from ~600 to ~190 bytes.
 */
export const SCHEMA_VERSION = 3

type Versioned = { v?: number } & Record<string, unknown>

export interface TaskRecordV1 {
  v: 1
  name: string
  script: string
  args: string[]
  at: string
  deadline: string | null
  priority: Priority
  front: boolean
  retries: number
  state: TaskState
  attempts: number
  lastExitCode: number | null
  lastOutcome: Outcome | null
  pid: number | null
}

function taskV1toV2(old: TaskRecordV1): StoredTask & { v: 2 } {
  const spec: TaskSpec = {
    name: old.name, script: old.script, args: old.args, at: Date.parse(old.at),
    deadline: old.deadline === null ? null : Date.parse(old.deadline), onDeadline: 'run', missed: 'once', overlap: 'skip', preemptible: false, manual: false, after: [], nodes: [], onSuccess: [], onFailure: null, priority: old.priority,
    front: old.front, retries: old.retries, restart: 'on-failure', cron: null, cronTz: null, backoff: null, timeoutMs: null, expectMs: null,
    memoryBytes: null, cwd: null, env: {}, envFile: null, user: null, digest: '',
  }
  return {
    v: 2, spec, state: old.state, priority: old.priority, bumped: false, consecutiveFailures: 0, retryStep: 0,
    attempts: old.attempts, dueAt: spec.at, queuedSeq: 0, lastExitCode: old.lastExitCode,
    lastOutcome: old.lastOutcome, pid: old.pid, pidStart: null, rearm: false, runStartedAt: old.pid === null ? null : spec.at, peakMemory: null, stopping: null, durations: [], missed: false, atRisk: false, slotAt: null, slotQueued: null, cycleSince: 0, lastSuccessAt: 0, awaiting: false, trigger: null, node: null, claimed: false,
  }
}

/** Bring a stored task record to the current version; `changed` says whether it must be rewritten. */
export function upgradeTask(raw: Versioned): { task: StoredTask; changed: boolean } {
  let record = raw
  const from = record.v ?? 1
  if (from > SCHEMA_VERSION) throw new Error(`task record version ${from} is newer than this release (${SCHEMA_VERSION})`)
  if (from === 1) record = taskV1toV2(record as unknown as TaskRecordV1) as unknown as Versioned
  // A whole version-2 record reads the same way as a compact one: every field is there.
  return { task: recordFrom(record), changed: from !== SCHEMA_VERSION }
}

export function upgradeEvent(raw: Versioned): TaskEvent {
  const from = raw.v ?? 1
  if (from > SCHEMA_VERSION) throw new Error(`event version ${from} is newer than this release (${SCHEMA_VERSION})`)
  const { v: _v, ...event } = raw
  if (event['spec'] !== undefined) event['spec'] = specFrom(event['spec'] as Versioned)
  if (from === 1 && event['type'] === 'run.exited' && 'exitCode' in event) {
    const { exitCode, ...rest } = event
    return { ...rest, code: exitCode } as unknown as TaskEvent
  }
  return event as unknown as TaskEvent
}
