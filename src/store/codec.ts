// The stored text of task records and events (schema version 3): every field at its default is left
// out, and read back as that default. A definition is encoded once and the same text serves its
// `task.added` event and its record.
import type { TaskRecord } from '../core/task-record.js'
import type { TaskEvent, TaskSpec } from '../core/types.js'

type Json = Record<string, unknown>

// The defaults below belong to schema version 3, not to the input rules: a record written with them
// must read the same after a release changes what a new task gets by default. Changing one here
// means a new schema version.

/** The definition fields whose default is a single value, compared with `===`. */
const SPEC_DEFAULTS = {
  deadline: null, onDeadline: 'run', missed: 'once', overlap: 'skip', preemptible: false, manual: false, onFailure: null, priority: 'medium', front: false, retries: 3, restart: 'on-failure', cron: null,
  cronTz: null, backoff: null, timeoutMs: null, expectMs: null, memoryBytes: null, cwd: null, user: null, envFile: null,
} as const satisfies Partial<TaskSpec>

/** The record fields whose default does not depend on the definition (`priority` and `dueAt` do). */
const RECORD_DEFAULTS = {
  state: 'scheduled', bumped: false, consecutiveFailures: 0, retryStep: 0, attempts: 0, lastExitCode: null,
  lastOutcome: null, pid: null, pidStart: null, runStartedAt: null, rearm: false, peakMemory: null, stopping: null, missed: false, atRisk: false,
  slotAt: null, slotQueued: null, cycleSince: 0, lastSuccessAt: 0, awaiting: false, trigger: null, node: null, claimed: false,
} as const satisfies Partial<TaskRecord>

const SPEC_KEYS = Object.keys(SPEC_DEFAULTS) as (keyof typeof SPEC_DEFAULTS)[]
const RECORD_KEYS = Object.keys(RECORD_DEFAULTS) as (keyof typeof RECORD_DEFAULTS)[]

const text = (value: unknown): string => JSON.stringify(value)

/** Strings with nothing to escape (names, paths, dates, digests): most of what is written. */
const PLAIN = /^[\w./:+-]*$/

/** A string's JSON text; a plain one is quoted as it is (half the cost of `JSON.stringify`). */
function quote(value: string): string {
  return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value)
}

function hasKeys(record: Record<string, string>): boolean {
  for (const _ in record) return true
  return false
}

/** A definition's JSON text without the fields at their default. */
export function specText(spec: TaskSpec): string {
  let out = `{"name":${quote(spec.name)},"script":${quote(spec.script)},"at":${spec.at}`
  if (spec.args.length > 0) out += `,"args":${text(spec.args)}`
  if (hasKeys(spec.env)) out += `,"env":${text(spec.env)}`
  if (spec.after.length > 0) out += `,"after":${text(spec.after)}`
  if (spec.nodes.length > 0) out += `,"nodes":${text(spec.nodes)}`
  if (spec.onSuccess.length > 0) out += `,"onSuccess":${text(spec.onSuccess)}`
  for (const key of SPEC_KEYS) if (spec[key] !== SPEC_DEFAULTS[key]) out += `,"${key}":${text(spec[key])}`
  return `${out},"digest":${quote(spec.digest)}}`
}

/** A record's stored text (with its version); `spec` is its definition's text when already made. */
export function recordText(version: number, record: TaskRecord, spec: string = specText(record.spec)): string {
  let out = `{"v":${version},"spec":${spec},"queuedSeq":${record.queuedSeq}`
  if (record.priority !== record.spec.priority) out += `,"priority":${text(record.priority)}`
  if (record.dueAt !== record.spec.at) out += `,"dueAt":${record.dueAt}`
  for (const key of RECORD_KEYS) if (record[key] !== RECORD_DEFAULTS[key]) out += `,"${key}":${text(record[key])}`
  if (record.durations.length > 0) out += `,"durations":${text(record.durations)}`
  return `${out}}`
}

/**
 * An event's stored text (with its version). A definition it carries is written like a record's, and
 * its text is handed to `onSpec` so the record written in the same batch need not make it again.
 */
export function eventText(version: number, event: TaskEvent, onSpec?: (spec: TaskSpec, text: string) => void): string {
  let out = `{"v":${version}`
  for (const key in event) {
    const value = (event as unknown as Json)[key]
    if (value === undefined) continue
    if (key === 'spec') {
      const spec = specText(value as TaskSpec)
      onSpec?.(value as TaskSpec, spec)
      out += `,"spec":${spec}`
    } else {
      // The keys are the event shapes' own identifiers: nothing to escape.
      out += `,"${key}":${typeof value === 'string' ? quote(value) : text(value)}`
    }
  }
  return `${out}}`
}

/** A definition from its stored form, compact or whole, with every field. */
export function specFrom(raw: Json): TaskSpec {
  const r = raw as Partial<TaskSpec>
  return {
    name: r.name as string,
    script: r.script as string,
    args: r.args ?? [],
    at: r.at as number,
    deadline: r.deadline ?? null,
    onDeadline: r.onDeadline ?? SPEC_DEFAULTS.onDeadline,
    missed: r.missed ?? SPEC_DEFAULTS.missed,
    overlap: r.overlap ?? SPEC_DEFAULTS.overlap,
    preemptible: r.preemptible ?? SPEC_DEFAULTS.preemptible,
    manual: r.manual ?? SPEC_DEFAULTS.manual,
    after: r.after ?? [],
    nodes: r.nodes ?? [],
    onSuccess: r.onSuccess ?? [],
    onFailure: r.onFailure ?? SPEC_DEFAULTS.onFailure,
    priority: r.priority ?? SPEC_DEFAULTS.priority,
    front: r.front ?? SPEC_DEFAULTS.front,
    retries: r.retries ?? SPEC_DEFAULTS.retries,
    restart: r.restart ?? SPEC_DEFAULTS.restart,
    cron: r.cron ?? null,
    cronTz: r.cronTz ?? null,
    backoff: r.backoff ?? null,
    timeoutMs: r.timeoutMs ?? null,
    expectMs: r.expectMs ?? null,
    memoryBytes: r.memoryBytes ?? null,
    cwd: r.cwd ?? null,
    env: r.env ?? {},
    user: r.user ?? null,
    envFile: r.envFile ?? null,
    digest: r.digest ?? '',
  }
}

/** A task record from its stored form, compact or whole (its `v` is not carried over). */
export function recordFrom(raw: Json): TaskRecord {
  const r = raw as Partial<TaskRecord> & { spec: Json }
  const spec = specFrom(r.spec)
  return {
    spec,
    state: r.state ?? RECORD_DEFAULTS.state,
    priority: r.priority ?? spec.priority,
    bumped: r.bumped ?? RECORD_DEFAULTS.bumped,
    consecutiveFailures: r.consecutiveFailures ?? RECORD_DEFAULTS.consecutiveFailures,
    retryStep: r.retryStep ?? RECORD_DEFAULTS.retryStep,
    attempts: r.attempts ?? RECORD_DEFAULTS.attempts,
    dueAt: r.dueAt ?? spec.at,
    queuedSeq: r.queuedSeq ?? 0,
    lastExitCode: r.lastExitCode ?? null,
    lastOutcome: r.lastOutcome ?? null,
    pid: r.pid ?? null,
    pidStart: r.pidStart ?? null,
    runStartedAt: r.runStartedAt ?? null,
    rearm: r.rearm ?? RECORD_DEFAULTS.rearm,
    peakMemory: r.peakMemory ?? null,
    // Not in records before the core decided kills: such a run was not being ended by a record.
    stopping: r.stopping ?? null,
    // Not in records before durations were learned: nothing learned yet.
    durations: r.durations ?? [],
    missed: r.missed ?? RECORD_DEFAULTS.missed,
    atRisk: r.atRisk ?? RECORD_DEFAULTS.atRisk,
    slotAt: r.slotAt ?? RECORD_DEFAULTS.slotAt,
    slotQueued: r.slotQueued ?? RECORD_DEFAULTS.slotQueued,
    cycleSince: r.cycleSince ?? RECORD_DEFAULTS.cycleSince,
    lastSuccessAt: r.lastSuccessAt ?? RECORD_DEFAULTS.lastSuccessAt,
    awaiting: r.awaiting ?? RECORD_DEFAULTS.awaiting,
    trigger: r.trigger ?? RECORD_DEFAULTS.trigger,
    // Not in records before cluster mode: its runs were this daemon's.
    node: r.node ?? RECORD_DEFAULTS.node,
    claimed: r.claimed ?? RECORD_DEFAULTS.claimed,
  }
}
