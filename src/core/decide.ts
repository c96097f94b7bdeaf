// decide(state, action) -> events and effects: what an action means, without changing anything.
import type { Action, Effect, KillCause } from './actions.js'
import { backoffDelay } from './backoff.js'
import { nextCronTime } from './calendar.js'
import { plainSpec } from './compact.js'
import { isUrgent, missableDeadline, overlapAt, runWake, windowOpensAt } from './deadline.js'
import { forecast } from './forecast.js'
import { DomainError, notFound } from './errors.js'
import { effectivePriority } from './priority.js'
import { atDate, checkGraph, followUps } from './workflow.js'
import { isMine, myRuns, type State } from './state.js'
import { plan } from './planner.js'
import { isFinished, NO_DURATIONS } from './task-record.js'
import { clampTime } from './time-range.js'
import { LIVE_STATES, type NewEvent, type Outcome, type Priority, type Stopping, type Task, type TaskSpec } from './types.js'

export interface Decision {
  events: NewEvent[]
  effects: Effect[]
}

const none = (): Decision => ({ events: [], effects: [] })

export function decide(state: State, action: Action): Decision {
  const decision = decideAction(state, action)
  // What these events do to the tasks that wait for them or are triggered by them.
  if (decision.events.length > 0 && (state.dependents.size > 0 || hasTriggers(state, decision.events))) {
    decision.events.push(...followUps(state, decision.events, action.now))
  }
  return decision
}

/** Whether an event's task may trigger others (cheap: most tasks name none). */
function hasTriggers(state: State, events: readonly NewEvent[]): boolean {
  if (state.config.defaultOnFailure.length > 0) return true
  return events.some((e) => {
    const spec = state.tasks.get(e.task)?.spec
    return spec !== undefined && (spec.onSuccess.length > 0 || (spec.onFailure?.length ?? 0) > 0)
  })
}

function decideAction(state: State, action: Action): Decision {
  switch (action.type) {
    case 'add':
      if (state.tasks.has(action.spec.name)) {
        throw new DomainError('conflict', `name: task "${action.spec.name}" already exists`)
      }
      if (namesOthers(action.spec)) checkGraph(state, [action.spec])
      return { events: arrival(state, action.spec, action.now, 'task.added', null), effects: [] }
    case 'apply':
      return applyFile(state, action.specs, action.prune, action.now)
    case 'remove':
      return removeTask(state, existing(state, action.name), action.now)
    case 'run':
      return runNow(existing(state, action.name))
    case 'stop':
      return stopTask(state, existing(state, action.name), action.now)
    case 'restart':
      return restartTask(state, existing(state, action.name), action.now)
    case 'replay':
      return replay(state, action.name, action.spec, action.now)
    case 'clock':
      return clock(state, action.now)
    case 'boot':
      return boot(state, action.now, action.keep ?? [])
    case 'shutdown':
      return shutdown(state, action.now)
    case 'sampled':
      return sampled(state, action.samples, action.now)
    case 'assess':
      return assess(state, action)
    case 'preempt':
      return preempt(state, action)
    case 'started':
      return started(state, action)
    case 'exited':
      return { events: exitEvents(state, action), effects: [] }
    case 'claim':
      return claim(state, action)
    case 'lost':
      return lost(state, action)
  }
}

/**
 * A cluster node claims what the planner admits on it now; the claims commit before any process
 * starts, and the log's one order lets only the first claim of a task through (a node deciding on an
 * older log re-reads it and decides again). The spawn effects are for the tasks claimed.
 */
function claim(state: State, action: Extract<Action, { type: 'claim' }>): Decision {
  const node = state.config.node
  if (node === null) return none()
  const planned = plan(state, action.resources, action.limits)
  const events: NewEvent[] = []
  for (const effect of planned.effects) if (effect.type === 'spawn') events.push({ type: 'run.claimed', task: effect.task, node })
  return { events, effects: planned.effects }
}

/**
 * A node silent past its timeout: whatever runs or is claimed there is recorded `interrupted` (its
 * exit status cannot be known) and queued again for any node. Should the node come back, it learns
 * from these events that its runs are no longer its own, and ends them without recording them.
 */
function lost(state: State, action: Extract<Action, { type: 'lost' }>): Decision {
  const { node, now } = action
  const why = `node "${node}" was lost (no heartbeat for ${durationText(action.silentMs)})`
  const events: NewEvent[] = []
  const gone = (name: string, pid: number | null): void => {
    const ended = exitEvents(state, { type: 'exited', now, name, pid, code: null, signal: null, cause: 'shutdown', jitter: 0 }, node)
    const first = ended[0]
    if (first?.type === 'run.exited') first.cause = why
    events.push(...ended)
  }
  for (const task of state.running) if (task.node === node && task.pid !== null) gone(task.spec.name, task.pid)
  // Its claims: of a task still there, or of one removed since (the claim must not hold the name).
  for (const task of state.starting.values()) {
    const current = state.tasks.get(task.spec.name)
    if (task.node === node && task.claimed && (current === task || current === undefined)) gone(task.spec.name, null)
  }
  for (const orphan of state.orphans.values()) if (orphan.node === node) gone(orphan.task, orphan.pid)
  return { events, effects: [] }
}

function existing(state: State, name: string): Task {
  const task = state.tasks.get(name)
  if (task === undefined) throw notFound(name)
  return task
}

/** Events of a definition entering the queue: added or updated, then due and urgency if already so. */
function arrival(
  state: State,
  spec: TaskSpec,
  now: number,
  type: 'task.added' | 'task.updated',
  current: Task | null,
): NewEvent[] {
  const events: NewEvent[] = [{ type, task: spec.name, spec }]
  const running = current?.state === 'running'
  // A manual task waits for `run` or a trigger; one with prerequisites is looked at when its date comes.
  if (!running && spec.at <= now && !spec.manual && spec.after.length === 0) events.push({ type: 'task.due', task: spec.name, reason: 'date' })
  const failures = running ? (current?.consecutiveFailures ?? 0) : 0
  const from = effectivePriority(spec.priority, false, failures)
  // What its runs have shown stays with the task across a change of its definition.
  const opens = windowOpensAt({ spec, durations: current?.durations ?? NO_DURATIONS }, state.config.urgencyMs)
  if (opens !== null && opens <= now) {
    events.push({ type: 'task.priority', task: spec.name, from, to: 'high', reason: 'deadline' })
  }
  return events
}

function applyFile(state: State, specs: TaskSpec[], prune: boolean, now: number): Decision {
  const decision = none()
  if (specs.some(namesOthers) || state.dependents.size > 0) {
    const kept = new Set(specs.map((s) => s.name))
    checkGraph(state, specs, prune ? new Set([...state.tasks.keys()].filter((n) => !kept.has(n))) : undefined)
  }
  const names = new Set<string>()
  for (const spec of specs) {
    names.add(spec.name)
    const current = state.tasks.get(spec.name)
    if (current?.spec.digest === spec.digest) continue
    const type = current === undefined ? 'task.added' : 'task.updated'
    decision.events.push(...arrival(state, spec, now, type, current ?? null))
  }
  if (!prune) return decision
  for (const task of state.tasks.values()) {
    if (names.has(task.spec.name)) continue
    const removal = removeTask(state, task, now)
    decision.events.push(...removal.events)
    decision.effects.push(...removal.effects)
  }
  return decision
}

/** A running task's process is ended first (its run outlives the task until it has exited). */
function removeTask(state: State, task: Task, now: number): Decision {
  const ended = task.pid === null ? none() : ending(state, task.spec.name, task.pid, task.stopping, 'remove', now)
  return { events: [...ended.events, { type: 'task.removed', task: task.spec.name }], effects: ended.effects }
}

/** What a cause that a user gives says about a run: its outcome is `stopped`, whatever was ending it before. */
const USER_CAUSES: ReadonlySet<KillCause> = new Set(['stop', 'remove', 'restart'])

/**
 * End a run: SIGTERM now, SIGKILL at the kill timeout (the clock decides it then). A run already being
 * ended keeps its signals; a user's stop, remove or restart still becomes its cause (the user's word
 * on what follows: no retry after a stop, even of a run that was timing out).
 */
function ending(state: State, name: string, pid: number, current: Stopping | null, cause: KillCause, now: number): Decision {
  if (current === null) {
    const killAt = isoTime(now + state.config.killTimeoutMs)
    return {
      events: [{ type: 'run.stopping', task: name, pid, cause, signal: 'SIGTERM', killAt }],
      effects: [{ type: 'signal', task: name, pid, signal: 'SIGTERM' }],
    }
  }
  if (!USER_CAUSES.has(cause) || current.cause === cause) return none()
  const killAt = current.killAt === null ? null : isoTime(current.killAt)
  return { events: [{ type: 'run.stopping', task: name, pid, cause, signal: null, killAt }], effects: [] }
}

function runNow(task: Task): Decision {
  if (task.state === 'running') throw new DomainError('conflict', `task "${task.spec.name}" is already running`)
  return { events: [{ type: 'task.due', task: task.spec.name, reason: 'manual' }], effects: [] }
}

function replay(state: State, name: string, spec: TaskSpec, now: number): Decision {
  const task = state.tasks.get(name)
  if (task === undefined) {
    // Removed since: it comes back with its recorded definition, due now, without its old deadline.
    return { events: arrival(state, { ...plainSpec(spec), at: now, deadline: null }, now, 'task.added', null), effects: [] }
  }
  if (!isFinished(task)) throw new DomainError('conflict', `task "${name}" has not finished (it is ${task.state}); use run to make it due now`)
  return runNow(task)
}

/** A running task's process is ended (outcome `stopped`) and it falls due again at once; else it runs. */
function restartTask(state: State, task: Task, now: number): Decision {
  if (task.pid !== null) return ending(state, task.spec.name, task.pid, task.stopping, 'restart', now)
  if (task.state === 'ready') return { events: [], effects: [] }
  return { events: [{ type: 'task.due', task: task.spec.name, reason: 'manual' }], effects: [] }
}

function stopTask(state: State, task: Task, now: number): Decision {
  const name = task.spec.name
  if (task.pid !== null) return ending(state, name, task.pid, task.stopping, 'stop', now)
  if (isFinished(task)) throw new DomainError('conflict', `task "${name}" is not running (it is ${task.state})`)
  return { events: [{ type: 'task.stopped', task: name }], effects: [] }
}

/**
 * Tasks whose time has come: they fall due, their deadline window opens, their run reaches its
 * timeout, or a run being ended is owed its SIGKILL. O(k) for k of them.
 */
function clock(state: State, now: number): Decision {
  const decision = none()
  const woken = [...state.timers.ordered((t) => (t.wakeAt as number) <= now)]
  for (const task of woken) {
    const name = task.spec.name
    if (task.state === 'scheduled' && task.dueAt <= now && task.spec.cron !== null && now - task.dueAt > MISSED_GRACE_MS) {
      decision.events.push(...missedSlot(state, task, now))
    } else if (task.state === 'scheduled' && task.dueAt <= now && task.spec.after.length > 0) {
      decision.events.push(...atDate(state, task, now))
    } else if (((task.state === 'scheduled' && !task.spec.manual) || task.state === 'retrying') && task.dueAt <= now) {
      decision.events.push({ type: 'task.due', task: name, reason: task.state === 'scheduled' ? 'date' : 'backoff' })
    }
    if (LIVE_STATES.has(task.state) && !task.bumped && isUrgent(task, now, state.config.urgencyMs)) {
      decision.events.push({ type: 'task.priority', task: name, from: task.priority, to: 'high', reason: 'deadline' })
    }
    if (task.pid !== null) add(decision, runClock(state, task, task.pid, now))
    const overlap = overlapAt(task)
    if (overlap !== null && overlap <= now) add(decision, overlapSlot(state, task, now))
    const deadline = missableDeadline(task)
    if (deadline !== null && deadline <= now) add(decision, deadlinePassed(state, task, deadline, now))
  }
  for (const orphan of state.orphans.values()) {
    if (orphan.killAt !== null && orphan.killAt <= now) add(decision, killNow(orphan.task, orphan.pid, orphan.cause))
  }
  return decision
}

/**
 * A deadline passed before the task succeeded in its cycle: said once (`errors` counts it), then its
 * `onDeadline`: `skip` ends the cycle of a task not started (`expired`), `kill` ends a run still going
 * (outcome `deadline`, no retry), `run` lets it run late.
 */
function deadlinePassed(state: State, task: Task, deadline: number, now: number): Decision {
  const name = task.spec.name
  const decision: Decision = { events: [{ type: 'task.deadline-missed', task: name, deadline: isoTime(deadline) }], effects: [] }
  const waiting = task.state === 'scheduled' || task.state === 'ready' || task.state === 'retrying'
  if (task.spec.onDeadline === 'skip' && waiting && !state.starting.has(name)) decision.events.push({ type: 'task.expired', task: name })
  if (task.spec.onDeadline === 'kill' && task.pid !== null) add(decision, ending(state, name, task.pid, task.stopping, 'deadline', now))
  return decision
}

/** How late the daemon may get to a cron slot before it counts as missed (it was asleep, or the clock jumped). */
export const MISSED_GRACE_MS = 60_000

/**
 * A cron slot the daemon was not there for: it started after the slot, or got to it over a minute late.
 * Logged, then its `missed` policy: `once` runs it now (once for however many were missed), `skip`
 * waits for the next slot.
 */
function missedSlot(state: State, task: Task, now: number): NewEvent[] {
  const { spec } = task
  const name = spec.name
  const missed: NewEvent = { type: 'task.slot-missed', task: name, at: isoTime(task.dueAt), policy: spec.missed }
  const next = spec.missed === 'skip' && spec.cron !== null ? nextCronTime(spec.cron, spec.cronTz, now + 1) : null
  // With no slot left to wait for, a skipped slot runs after all: the task does not stay due for ever.
  if (next === null) return [missed, ...(spec.after.length > 0 ? atDate(state, task, now) : [{ type: 'task.due', task: name, reason: 'date' } as const])]
  return [missed, { type: 'task.scheduled', task: name, at: isoTime(next), reason: 'cron' }]
}

/**
 * A cron slot came while the cycle before it still goes on. Logged, then its `overlap` policy: `skip`
 * lets the slot go; `queue` runs it when the cycle ends (several such slots run once); `replace` ends
 * the run (outcome `stopped`) or the wait for a retry, and the slot's run starts at once.
 */
function overlapSlot(state: State, task: Task, now: number): Decision {
  const { spec } = task
  const name = spec.name
  const at = task.slotAt as number
  const next = nextCronTime(spec.cron as string, spec.cronTz, now + 1)
  const events: NewEvent[] = [{ type: 'task.slot-overlap', task: name, at: isoTime(at), policy: spec.overlap, next: next === null ? null : isoTime(next) }]
  if (spec.overlap !== 'replace') return { events, effects: [] }
  if (task.pid !== null) {
    const ended = ending(state, name, task.pid, task.stopping, 'replace', now)
    return { events: [...events, ...ended.events], effects: ended.effects }
  }
  return { events: [...events, ...slotRun(name, task.slotQueued ?? at)], effects: [] }
}

/** A new cycle for a slot that waited (queued, or replacing the cycle before it): due at once. */
function slotRun(name: string, slot: number): NewEvent[] {
  return [{ type: 'task.scheduled', task: name, at: isoTime(slot), reason: 'cron' }, { type: 'task.due', task: name, reason: 'overlap' }]
}

/** A running task at its wake: its SIGKILL is due, or its timeout has come. */
function runClock(state: State, task: Task, pid: number, now: number): Decision {
  const { stopping } = task
  if (stopping !== null) return stopping.killAt !== null && stopping.killAt <= now ? killNow(task.spec.name, pid, stopping.cause) : none()
  const timeoutAt = runWake(task)
  return timeoutAt !== null && timeoutAt <= now ? ending(state, task.spec.name, pid, null, 'timeout', now) : none()
}

/** The SIGKILL that follows a SIGTERM left unanswered for the kill timeout; nothing is owed after it. */
function killNow(name: string, pid: number, cause: KillCause): Decision {
  return {
    events: [{ type: 'run.stopping', task: name, pid, cause, signal: 'SIGKILL', killAt: null }],
    effects: [{ type: 'signal', task: name, pid, signal: 'SIGKILL' }],
  }
}

function add(into: Decision, more: Decision): void {
  into.events.push(...more.events)
  into.effects.push(...more.effects)
}

/** The daemon goes down: every run is ended, to be recorded `interrupted` (a user's stop in progress stays one). */
function shutdown(state: State, now: number): Decision {
  const decision = none()
  for (const task of myRuns(state)) {
    if (task.pid !== null) add(decision, ending(state, task.spec.name, task.pid, task.stopping, 'shutdown', now))
  }
  return decision
}

/**
 * Room for a task near its deadline: the preemptible run is stopped (outcome `preempted`: no failure,
 * no attempt spent) and its task queued again. Nothing if it is no longer a preemptible run, or is
 * being ended already.
 */
function preempt(state: State, action: Extract<Action, { type: 'preempt' }>): Decision {
  const task = state.tasks.get(action.name)
  if (task === undefined || task.pid === null || task.stopping !== null || !task.spec.preemptible) return none()
  return ending(state, task.spec.name, task.pid, null, 'preempt', action.now)
}

/** How far ahead an assessment looks at most: deadlines further out are assessed as they come nearer. */
const ASSESS_HORIZON_MS = 7 * 24 * 60 * 60 * 1000

/**
 * The deadline tasks the forecast now expects to end after their deadline (or not to start before it):
 * `task.at-risk`, once a cycle. The forecast looks as far as the latest deadline still ahead.
 */
function assess(state: State, action: Extract<Action, { type: 'assess' }>): Decision {
  const { now } = action
  const candidates: Task[] = []
  let latest = now
  for (const task of state.tasks.values()) {
    const { deadline } = task.spec
    if (deadline === null || deadline <= now || task.atRisk || !LIVE_STATES.has(task.state) || missableDeadline(task) === null) continue
    candidates.push(task)
    latest = Math.max(latest, deadline)
  }
  if (candidates.length === 0) return none()
  const result = forecast(state, now, {
    horizonMs: Math.min(latest - now, ASSESS_HORIZON_MS), unknownMs: action.unknownMs, slots: action.slots,
    ...(action.limits === undefined ? {} : { limits: action.limits }),
  })
  const events: NewEvent[] = []
  for (const task of candidates) {
    const deadline = task.spec.deadline as number
    const row = result.byTask.get(task.spec.name)
    const late = row !== undefined ? row.atRisk : !result.truncated && deadline <= result.horizonEnd
    if (!late) continue
    const expectedEnd = row === undefined || !Number.isFinite(row.end) ? null : isoTime(row.end)
    events.push({ type: 'task.at-risk', task: task.spec.name, deadline: isoTime(deadline), expectedEnd })
  }
  return { events, effects: [] }
}

/** Where the kernel does not hold a run to its memory limit, the monitor's samples do. */
function sampled(state: State, samples: readonly { pid: number; memory: number }[], now: number): Decision {
  const decision = none()
  if (samples.length === 0) return decision
  const byPid = new Map(samples.map((s) => [s.pid, s.memory]))
  for (const task of myRuns(state)) {
    const memory = task.pid === null ? undefined : byPid.get(task.pid)
    const limit = task.spec.memoryBytes
    if (memory === undefined || limit === null || memory <= limit || task.pid === null) continue
    add(decision, ending(state, task.spec.name, task.pid, task.stopping, 'memory', now))
  }
  return decision
}

/**
 * A launch reported its pid. A task stopped while its launch was under way has the run logged and
 * ended at once; one removed meanwhile (perhaps added again since: that is another task) has it ended.
 */
function started(state: State, action: Extract<Action, { type: 'started' }>): Decision {
  const { name, pid } = action
  const task = state.tasks.get(name)
  const asked = state.starting.get(name)
  const node = state.config.node === null ? {} : { node: state.config.node }
  if (state.config.shared && (asked === undefined || asked.node !== state.config.node)) {
    // Not this node's claim (any more): it was lost meanwhile and the claim moved. The start is not
    // recorded; the process is ended, and its exit is not recorded either.
    return { events: [], effects: [{ type: 'signal', task: name, pid, signal: 'SIGKILL' }] }
  }
  if (task === undefined || (asked !== undefined && asked !== task)) {
    const run: NewEvent[] = task === undefined ? [{ type: 'run.started', task: name, pid, pidStart: action.pidStart ?? null, attempt: 1, ...node }] : []
    const ended = ending(state, name, pid, null, 'remove', action.now)
    return { events: [...run, ...ended.events], effects: ended.effects }
  }
  const run: NewEvent = { type: 'run.started', task: name, pid, pidStart: action.pidStart ?? null, attempt: task.attempts + 1, ...node }
  // A cycle's first run of a cron task: the slot after its start is when an overlap would come.
  if (task.spec.cron !== null && task.slotAt === null) {
    const slot = nextCronTime(task.spec.cron, task.spec.cronTz, action.now + 1)
    run.slot = slot === null ? null : isoTime(slot)
  }
  if (task.state !== 'stopped') return { events: [run], effects: [] }
  const ended = ending(state, name, pid, null, 'stop', action.now)
  return { events: [run, ...ended.events], effects: ended.effects }
}

/**
 * After a crash, runs still marked running were cut short: record them and queue them again, but
 * those a launcher kept (`keep`: they run on, or ended with a status of their own).
 */
function boot(state: State, now: number, keep: readonly string[]): Decision {
  const events: NewEvent[] = []
  for (const task of myRuns(state)) {
    if (keep.includes(task.spec.name)) continue
    events.push(...exitEvents(state, {
      type: 'exited', now, name: task.spec.name, pid: task.pid, code: null, signal: null, cause: 'shutdown', jitter: 0,
    }))
  }
  // A cluster node's claims whose start no launcher kept: they never ran (the daemon died first).
  for (const task of state.starting.values()) {
    if (!state.config.shared || !task.claimed || !isMine(state, task) || keep.includes(task.spec.name) || state.tasks.get(task.spec.name) !== task) continue
    events.push(...exitEvents(state, { type: 'exited', now, name: task.spec.name, pid: null, code: null, signal: null, cause: 'shutdown', jitter: 0 }))
  }
  // Cron slots that came while no daemon was there.
  for (const task of state.timers.ordered((t) => (t.wakeAt as number) < now)) {
    if (task.state === 'scheduled' && task.spec.cron !== null && task.dueAt < now) events.push(...missedSlot(state, task, now))
  }
  return { events, effects: [] }
}

function outcomeOf(code: number | null, signal: string | null, cause: KillCause | null, error?: string): Outcome {
  if (cause === 'shutdown') return 'interrupted'
  if (cause === 'timeout') return 'timeout'
  if (cause === 'deadline') return 'deadline'
  if (cause === 'preempt') return 'preempted'
  if (cause === 'stop' || cause === 'remove' || cause === 'restart' || cause === 'replace') return 'stopped'
  if (cause !== null) return 'killed'
  if (code === 0 && error === undefined) return 'succeeded'
  return signal !== null ? 'killed' : 'failed'
}

/** `node`: whose run it is (a cluster node records its own, and a lost node's). */
function exitEvents(state: State, reported: Extract<Action, { type: 'exited' }>, node = state.config.node): NewEvent[] {
  const task = runOwner(state, reported, node)
  // Why the supervisor ended it, if it did: from the state (a daemon started since knows it too), else
  // what the runtime saw (the kernel's memory limit, a lost keeper).
  const found = reported.pid === null ? undefined : state.orphans.get(reported.pid)
  const orphan = found !== undefined && (!state.config.shared || found.node === node) ? found : undefined
  // In a cluster, a run that is not the node's by the log (it was lost, and the run moved) is not
  // recorded: its exit says nothing about the task any more.
  if (state.config.shared && task === undefined && orphan === undefined && !(reported.pid === null && state.starting.get(reported.name)?.node === node)) return []
  const action = { ...reported, cause: task?.stopping?.cause ?? orphan?.cause ?? reported.cause }
  const outcome = outcomeOf(action.code, action.signal, action.cause, action.error)
  const started = task?.runStartedAt ?? action.now
  const why = causeText(task, outcome, action)
  const exited: NewEvent = {
    type: 'run.exited', task: action.name, pid: action.pid, code: action.code, signal: action.signal, outcome,
    ...(why === null ? {} : { cause: why }),
    durationMs: Math.max(0, (action.endedAt ?? action.now) - started),
    ...(action.peakMemory === undefined ? {} : { peakMemory: action.peakMemory }),
    ...(action.stderr === undefined ? {} : { stderr: action.stderr }),
    ...(action.fingerprint === undefined ? {} : { fingerprint: action.fingerprint }),
    ...(action.error === undefined ? {} : { error: action.error }),
  }
  if (task === undefined || action.cause === 'remove') return [exited]
  return [exited, ...afterRun(state, task, outcome, action)]
}

/** The task this run belongs to: not a task of the same name added after the run's task was removed. */
function runOwner(state: State, action: Extract<Action, { type: 'exited' }>, node: string | null): Task | undefined {
  const task = state.tasks.get(action.name)
  if (task === undefined) return undefined
  if (state.config.shared) {
    if (task.node !== node) return undefined
    return (action.pid === null ? task.claimed && task.state === 'ready' : task.pid === action.pid) ? task : undefined
  }
  const own = action.pid === null ? task.state === 'ready' : task.pid === action.pid
  return own ? task : undefined
}

/** What follows a run: success, a retry after backoff, a final failure, a stop, the next cron slot. */
function afterRun(state: State, task: Task, outcome: Outcome, action: Extract<Action, { type: 'exited' }>): NewEvent[] {
  const name = task.spec.name
  const { spec } = task
  if (action.cause === 'stop') return [{ type: 'task.stopped', task: name }]
  // Made room for a task near its deadline: due again at once, in its old place.
  if (action.cause === 'preempt') return [{ type: 'task.due', task: name, reason: 'preempted' }]
  // Too late to be of use: no retry after a run ended at its deadline.
  if (action.cause === 'deadline') return [{ type: 'task.failed', task: name }]
  if (action.cause === 'restart') return [{ type: 'task.due', task: name, reason: 'restart' }]
  // Ended for its next cron slot (`overlap: replace`): that slot's run starts now.
  if (action.cause === 'replace') return slotRun(name, task.slotQueued ?? action.now)
  if (outcome === 'interrupted') return [{ type: 'task.due', task: name, reason: 'interrupted' }]
  if (task.rearm) return rearmAfterUpdate(task, action.now)
  const failures = outcome === 'succeeded' ? 0 : task.consecutiveFailures + 1
  const events: NewEvent[] = []
  const to: Priority = effectivePriority(spec.priority, task.bumped, failures)
  if (to !== task.priority) events.push({ type: 'task.priority', task: name, from: task.priority, to, reason: 'failures' })
  if (spec.restart === 'always') return [...events, restartService(state, task, outcome, action)]
  const next = nextSlot(task, action.now)
  if (outcome === 'succeeded') return [...events, { type: 'task.succeeded', task: name }, ...next]
  if (spec.restart === 'on-failure' && failures <= spec.retries) {
    return [...events, retrying(state, task, action.now, failures, action.jitter)]
  }
  return [...events, { type: 'task.failed', task: name }, ...next]
}

/** The definition changed while it ran: the new one starts a new cycle, due at its own `at`. */
function rearmAfterUpdate(task: Task, now: number): NewEvent[] {
  const name = task.spec.name
  const events: NewEvent[] = [{ type: 'task.scheduled', task: name, at: new Date(task.spec.at).toISOString(), reason: 'updated' }]
  if (task.spec.at <= now) events.push({ type: 'task.due', task: name, reason: 'date' })
  return events
}

/**
 * A cron task's cycle ends: a slot queued during it runs now; else it waits for its next slot (a slot
 * that came as the run ended, before the clock saw it, is an overlap like any other).
 */
function nextSlot(task: Task, now: number): NewEvent[] {
  const { cron, cronTz, overlap } = task.spec
  if (cron === null) return []
  const name = task.spec.name
  const passed = task.slotAt !== null && task.slotAt <= now ? task.slotAt : null
  const queued = task.slotQueued ?? (overlap !== 'skip' ? passed : null)
  if (queued !== null) return slotRun(name, queued)
  const next = nextCronTime(cron, cronTz, now + 1)
  const skipped: NewEvent[] = passed === null ? [] : [{ type: 'task.slot-overlap', task: name, at: isoTime(passed), policy: 'skip', next: next === null ? null : isoTime(next) }]
  return next === null ? skipped : [...skipped, { type: 'task.scheduled', task: name, at: isoTime(next), reason: 'cron' }]
}

/**
 * A service is started again after every exit. After a stable run it restarts at once; each quick
 * exit in a row waits one backoff step longer (pm2's exponential restart delay).
 */
function restartService(state: State, task: Task, outcome: Outcome, action: Extract<Action, { type: 'exited' }>): NewEvent {
  const ran = action.now - (task.runStartedAt ?? action.now)
  const stable = ran >= state.config.stableMs
  const step = stable ? (outcome === 'succeeded' ? 0 : 1) : task.retryStep + 1
  return retrying(state, task, action.now, step, action.jitter)
}

function retrying(state: State, task: Task, now: number, step: number, jitter: number): NewEvent {
  const wait = step === 0 ? 0 : backoffDelay(task.spec.backoff ?? state.config.backoff, step, jitter)
  return { type: 'task.retrying', task: task.spec.name, at: isoTime(now + wait), attempt: task.attempts + 1, step }
}

/**
 * An instant as the events write it, brought into the representable range first: an exit is always
 * decided, even if a retry or a next slot lies beyond year 9999 (the boundary refuses settings that
 * lead there, so this is only a safety net).
 */
function isoTime(ms: number): string {
  return new Date(clampTime(ms)).toISOString()
}

/** Why a run ended, in words, where the code or signal alone would mislead (see run.exited `cause`). */
function causeText(task: Task | undefined, outcome: Outcome, action: Extract<Action, { type: 'exited' }>): string | null {
  switch (action.cause) {
    case 'memory': {
      const limit = task?.spec.memoryBytes ?? null
      const peak = action.peakMemory
      return `memory limit${limit === null ? '' : ` ${sizeText(limit)}`} exceeded${peak === undefined ? '' : ` (peak ${sizeText(peak)})`}`
    }
    case 'timeout':
      return task?.spec.timeoutMs == null ? 'timeout' : `timeout after ${durationText(task.spec.timeoutMs)}`
    case 'stop':
      return 'stopped by a user'
    case 'remove':
      return 'stopped: the task was removed'
    case 'restart':
      return 'stopped to restart'
    case 'preempt':
      return 'preempted: stopped to make room for a task near its deadline'
    case 'replace':
      return task?.slotQueued == null ? 'stopped: replaced by its next cron slot' : `stopped: replaced by its cron slot ${new Date(task.slotQueued).toISOString()}`
    case 'deadline':
      return task?.spec.deadline == null ? 'killed at its deadline' : `killed at its deadline ${new Date(task.spec.deadline).toISOString()}`
    default:
      // Nobody in the supervisor sent that signal.
      return outcome === 'killed' && action.cause === null && action.signal !== null ? `killed by ${action.signal} from outside` : null
  }
}

/** 104857600 -> "100M": the units a user writes sizes in. */
function sizeText(bytes: number): string {
  for (const [unit, size] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(bytes % size === 0 ? 0 : 1))}${unit}`
  }
  return `${bytes}B`
}

/** 7000 -> "7s": the units a user writes durations in. */
function durationText(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

/** Whether a definition names other tasks (then the graph is checked). */
function namesOthers(spec: TaskSpec): boolean {
  return spec.after.length > 0 || spec.onSuccess.length > 0 || (spec.onFailure?.length ?? 0) > 0
}
