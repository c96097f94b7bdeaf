// Creating tasks and applying one event to one task: the per-task half of the reducer.
import { effectivePriority } from './priority.js'
import type { Outcome, Priority, Stopping, Task, TaskEvent, TaskSpec, TaskState, Trigger } from './types.js'

const FINISHED: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'stopped', 'expired', 'skipped'])

export function isFinished(task: TaskRecord): boolean {
  return FINISHED.has(task.state)
}

/** How many of a task's last successful run durations it keeps: its expected duration comes from them. */
export const RECENT_DURATIONS = 10

export const NO_DURATIONS: readonly number[] = Object.freeze([])

/** The fields of a task that keep their default until it first runs, fails or is bumped. */
type Extras = Pick<Task, 'bumped' | 'consecutiveFailures' | 'retryStep' | 'attempts' | 'lastExitCode' | 'lastOutcome' | 'pid' | 'pidStart' | 'runStartedAt' | 'rearm' | 'peakMemory' | 'stopping' | 'durations' | 'missed' | 'atRisk' | 'slotAt' | 'slotQueued' | 'cycleSince' | 'lastSuccessAt' | 'awaiting' | 'trigger' | 'node' | 'claimed'>

const NO_EXTRAS: Readonly<Extras> = Object.freeze({
  bumped: false, consecutiveFailures: 0, retryStep: 0, attempts: 0, lastExitCode: null, lastOutcome: null, pid: null,
  pidStart: null, runStartedAt: null, rearm: false, peakMemory: null, stopping: null, durations: NO_DURATIONS, missed: false, atRisk: false,
  slotAt: null, slotQueued: null, cycleSince: 0, lastSuccessAt: 0, awaiting: false, trigger: null, node: null, claimed: false,
})

/** The record of a task just added: scheduled, never run. */
export function newRecord(spec: TaskSpec, seq: number): TaskRecord {
  return { spec, state: 'scheduled', priority: spec.priority, dueAt: spec.at, queuedSeq: seq, ...NO_EXTRAS }
}

export function newTask(spec: TaskSpec, seq: number): Task {
  return new LiveTask(spec, 'scheduled', spec.priority, spec.at, seq)
}

/** A task's record alone, without its places in the queues: a copy the caller may change. */
export function recordOf(task: Task): TaskRecord {
  return {
    spec: task.spec,
    state: task.state,
    priority: task.priority,
    bumped: task.bumped,
    consecutiveFailures: task.consecutiveFailures,
    retryStep: task.retryStep,
    attempts: task.attempts,
    dueAt: task.dueAt,
    queuedSeq: task.queuedSeq,
    lastExitCode: task.lastExitCode,
    lastOutcome: task.lastOutcome,
    pid: task.pid,
    pidStart: task.pidStart,
    runStartedAt: task.runStartedAt,
    rearm: task.rearm,
    peakMemory: task.peakMemory,
    stopping: task.stopping,
    durations: task.durations,
    missed: task.missed,
    atRisk: task.atRisk,
    slotAt: task.slotAt,
    slotQueued: task.slotQueued,
    cycleSince: task.cycleSince,
    lastSuccessAt: task.lastSuccessAt,
    awaiting: task.awaiting,
    trigger: task.trigger,
    node: task.node,
    claimed: task.claimed,
  }
}

/** A task as a store kept it: everything but its places in the queues. */
export type TaskRecord = Omit<Task, 'readyPos' | 'timerPos' | 'wakeAt'>

/** A live task from its record; nothing else is carried over. */
export function fromRecord(r: TaskRecord, spec: TaskSpec): Task {
  // The definition's own date when they are equal: one boxed number for both, not two.
  const task = new LiveTask(spec, r.state, r.priority, r.dueAt === spec.at ? spec.at : r.dueAt, r.queuedSeq)
  task.bumped = r.bumped
  task.consecutiveFailures = r.consecutiveFailures
  task.retryStep = r.retryStep
  task.attempts = r.attempts
  task.lastExitCode = r.lastExitCode
  task.lastOutcome = r.lastOutcome
  task.pid = r.pid
  task.pidStart = r.pidStart
  task.runStartedAt = r.runStartedAt
  task.rearm = r.rearm
  task.peakMemory = r.peakMemory
  task.stopping = r.stopping
  task.durations = r.durations
  task.missed = r.missed
  task.atRisk = r.atRisk
  task.slotAt = r.slotAt
  task.slotQueued = r.slotQueued
  task.cycleSince = r.cycleSince
  task.lastSuccessAt = r.lastSuccessAt
  task.awaiting = r.awaiting
  task.trigger = r.trigger
  task.node = r.node
  task.claimed = r.claimed
  return task
}

/**
 * A live task, made for 100k of them in memory. It holds the fields the queues read on every tick;
 * the others, at their default until the task first runs, live in one object made on the first change:
 * 9 fields instead of 19 (-80 B a task). Read and written like a plain `Task`, but a spread of it
 * would miss those fields: `recordOf` (and JSON) give them all.
 */
class LiveTask implements Task {
  readyPos = -1
  timerPos = -1
  wakeAt: number | null = null
  private extras: Extras | null = null

  constructor(
    public spec: TaskSpec,
    public state: TaskState,
    public priority: Priority,
    public dueAt: number,
    public queuedSeq: number,
  ) {}

  private get more(): Readonly<Extras> {
    return this.extras ?? NO_EXTRAS
  }

  private change<K extends keyof Extras>(key: K, value: Extras[K]): void {
    if (this.extras === null) {
      if (value === NO_EXTRAS[key]) return
      this.extras = { ...NO_EXTRAS }
    }
    this.extras[key] = value
  }

  get bumped(): boolean { return this.more.bumped }
  set bumped(value: boolean) { this.change('bumped', value) }
  get consecutiveFailures(): number { return this.more.consecutiveFailures }
  set consecutiveFailures(value: number) { this.change('consecutiveFailures', value) }
  get retryStep(): number { return this.more.retryStep }
  set retryStep(value: number) { this.change('retryStep', value) }
  get attempts(): number { return this.more.attempts }
  set attempts(value: number) { this.change('attempts', value) }
  get lastExitCode(): number | null { return this.more.lastExitCode }
  set lastExitCode(value: number | null) { this.change('lastExitCode', value) }
  get lastOutcome(): Outcome | null { return this.more.lastOutcome }
  set lastOutcome(value: Outcome | null) { this.change('lastOutcome', value) }
  get pid(): number | null { return this.more.pid }
  set pid(value: number | null) { this.change('pid', value) }
  get pidStart(): string | null { return this.more.pidStart }
  set pidStart(value: string | null) { this.change('pidStart', value) }
  get runStartedAt(): number | null { return this.more.runStartedAt }
  set runStartedAt(value: number | null) { this.change('runStartedAt', value) }
  get rearm(): boolean { return this.more.rearm }
  set rearm(value: boolean) { this.change('rearm', value) }
  get peakMemory(): number | null { return this.more.peakMemory }
  set peakMemory(value: number | null) { this.change('peakMemory', value) }
  get stopping(): Stopping | null { return this.more.stopping }
  set stopping(value: Stopping | null) { this.change('stopping', value) }
  get durations(): readonly number[] { return this.more.durations }
  set durations(value: readonly number[]) { this.change('durations', value) }
  get missed(): boolean { return this.more.missed }
  set missed(value: boolean) { this.change('missed', value) }
  get atRisk(): boolean { return this.more.atRisk }
  set atRisk(value: boolean) { this.change('atRisk', value) }
  get slotAt(): number | null { return this.more.slotAt }
  set slotAt(value: number | null) { this.change('slotAt', value) }
  get slotQueued(): number | null { return this.more.slotQueued }
  set slotQueued(value: number | null) { this.change('slotQueued', value) }
  get cycleSince(): number { return this.more.cycleSince }
  set cycleSince(value: number) { this.change('cycleSince', value) }
  get lastSuccessAt(): number { return this.more.lastSuccessAt }
  set lastSuccessAt(value: number) { this.change('lastSuccessAt', value) }
  get awaiting(): boolean { return this.more.awaiting }
  set awaiting(value: boolean) { this.change('awaiting', value) }
  get trigger(): Trigger | null { return this.more.trigger }
  set trigger(value: Trigger | null) { this.change('trigger', value) }
  get node(): string | null { return this.more.node }
  set node(value: string | null) { this.change('node', value) }
  get claimed(): boolean { return this.more.claimed }
  set claimed(value: boolean) { this.change('claimed', value) }

  toJSON(): TaskRecord {
    return recordOf(this)
  }
}

/** Where its cycle began, for a task that waits for others (`after`); no record for the rest. */
function beginCycle(task: TaskRecord, since: number): void {
  task.awaiting = false
  task.trigger = null
  task.cycleSince = task.spec.after.length > 0 ? since : 0
}

/** Start a new cycle: a changed definition or a manual run after the task had finished. */
function rearm(task: TaskRecord): void {
  task.missed = false
  task.atRisk = false
  task.attempts = 0
  task.consecutiveFailures = 0
  task.retryStep = 0
  task.slotAt = null
  task.slotQueued = null
  task.priority = effectivePriority(task.spec.priority, task.bumped, 0)
}

/** Apply one event to its task, in place. The caller keeps the queues in order around it. */
export function applyEvent(task: TaskRecord, event: TaskEvent): void {
  const time = Date.parse(event.time)
  switch (event.type) {
    case 'task.added':
      beginCycle(task, time)
      return
    case 'task.updated':
      task.spec = event.spec
      task.bumped = false
      task.priority = effectivePriority(event.spec.priority, false, task.consecutiveFailures)
      if (task.state === 'running') {
        task.rearm = true
        return
      }
      task.state = 'scheduled'
      task.dueAt = event.spec.at
      task.queuedSeq = event.seq
      beginCycle(task, time)
      return rearm(task)
    case 'task.triggered':
      if (isFinished(task)) {
        rearm(task)
        beginCycle(task, time)
      }
      task.trigger = { ...event.trigger, seq: event.seq }
      task.awaiting = false
      task.dueAt = time
      task.queuedSeq = event.seq
      task.state = 'ready'
      return
    case 'task.awaiting':
      task.awaiting = true
      return
    case 'task.skipped':
      task.awaiting = false
      task.state = 'skipped'
      return
    case 'task.due':
      task.awaiting = false
      if (event.reason === 'manual') {
        if (isFinished(task)) {
          rearm(task)
          beginCycle(task, time)
          // A cycle asked for after the deadline is late by choice: it has no deadline left to miss.
          task.missed = task.spec.deadline !== null && time >= task.spec.deadline
        }
        task.dueAt = time
        task.queuedSeq = event.seq
      }
      task.state = 'ready'
      return
    case 'task.priority':
      task.priority = event.to
      if (event.reason === 'deadline') task.bumped = true
      return
    case 'run.claimed':
      task.node = event.node
      task.claimed = true
      return
    case 'run.started':
      task.claimed = false
      if (event.node !== undefined) task.node = event.node
      task.state = 'running'
      task.pid = event.pid
      task.pidStart = event.pidStart
      task.attempts = event.attempt
      task.runStartedAt = time
      task.stopping = null
      if (event.slot !== undefined) task.slotAt = event.slot === null ? null : Date.parse(event.slot)
      return
    case 'run.stopping':
      if (event.pid !== task.pid) return
      task.stopping = { cause: event.cause, killAt: event.killAt === null ? null : Date.parse(event.killAt) }
      return
    case 'run.exited':
      // The exit of an older run (a task of the same name since removed and added again) is not this task's.
      if (event.pid !== task.pid) return
      task.claimed = false
      task.pid = null
      task.pidStart = null
      task.runStartedAt = null
      task.stopping = null
      if (event.peakMemory !== undefined) task.peakMemory = Math.max(task.peakMemory ?? 0, event.peakMemory)
      task.lastExitCode = event.code
      task.lastOutcome = event.outcome
      // A success says how long a run takes: its expected duration is learned from the last few.
      if (event.outcome === 'succeeded') task.durations = [...task.durations, event.durationMs].slice(-RECENT_DURATIONS)
      if (event.outcome === 'succeeded') task.consecutiveFailures = 0
      else if (event.outcome === 'preempted') task.attempts = Math.max(0, task.attempts - 1) // not an attempt of its own
      else if (event.outcome !== 'interrupted' && event.outcome !== 'stopped') task.consecutiveFailures += 1
      return
    case 'task.retrying':
      task.state = 'retrying'
      task.dueAt = Date.parse(event.at)
      task.retryStep = event.step
      return
    case 'task.scheduled': {
      const slot = task.dueAt
      task.state = 'scheduled'
      task.dueAt = Date.parse(event.at)
      task.missed = task.spec.deadline !== null && task.dueAt >= task.spec.deadline
      task.atRisk = false
      task.attempts = 0
      task.retryStep = 0
      task.slotAt = null
      task.slotQueued = null
      // A cron task's prerequisites count from its last slot: a late run does not push the next one later.
      beginCycle(task, event.reason === 'cron' ? Math.min(slot, time) : time)
      if (event.reason === 'updated') {
        task.rearm = false
        task.queuedSeq = event.seq
        task.consecutiveFailures = 0
        task.priority = effectivePriority(task.spec.priority, task.bumped, 0)
      }
      return
    }
    case 'task.succeeded':
      task.lastSuccessAt = time
      task.state = 'succeeded'
      return
    case 'task.failed':
    case 'task.stopped':
    case 'task.expired':
      task.state = event.type.slice('task.'.length) as TaskState
      return
    case 'task.deadline-missed':
      task.missed = true
      return
    case 'task.at-risk':
      task.atRisk = true
      return
    case 'task.slot-overlap':
      task.slotAt = event.next === null ? null : Date.parse(event.next)
      if (event.policy !== 'skip') task.slotQueued ??= Date.parse(event.at)
      return
    case 'task.slot-missed':
      return
    case 'task.removed':
      return
  }
}
