// Scheduling semantics through decide -> stamp -> reduce with a fake clock: due, deadline, failures, retries, stop, boot, apply.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DomainError } from '../../src/core/errors.js'
import { createState } from '../../src/core/state.js'
import { decide } from '../../src/core/decide.js'
import { restore } from '../../src/core/reducer.js'
import { recordOf, type TaskRecord } from '../../src/core/task-record.js'
import type { TaskEvent } from '../../src/core/types.js'
import { brief, CoreDriver, spec, T0, type Step } from '../helpers/core-driver.js'

const MIN = 60_000
const only = <T extends TaskEvent['type']>(events: TaskEvent[], type: T) =>
  events.filter((e): e is Extract<TaskEvent, { type: T }> => e.type === type)

/** One run of `name`: wait out its backoff if any, start it, end it with `code`. */
function cycle(d: CoreDriver, name: string, code: number, jitter = 0): Step {
  const task = d.task(name)
  if (task.state === 'retrying') d.clockAt(task.dueAt)
  assert.deepEqual(d.startDue(), [name])
  return d.exit(name, { code, jitter })
}

for (const [label, atOffset] of [['now', 0], ['in the past', -5 * MIN]] as const) {
  test(`a task due when added (at ${label}) gets task.added and task.due at once`, () => {
    const d = new CoreDriver()
    const { events } = d.add('t', { at: T0 + atOffset })
    assert.deepEqual(brief(events), ['task.added t', 'task.due t'])
    assert.equal(only(events, 'task.due')[0]?.reason, 'date')
    assert.equal(d.task('t').state, 'ready')
  })
}

const datedCases = [
  { lead: 1, late: 0 },
  { lead: 1000, late: 0 },
  { lead: 90 * MIN, late: 0 },
  { lead: 90 * MIN, late: 7 * MIN },
]
for (const { lead, late } of datedCases) {
  test(`a task dated ${lead} ms ahead falls due on the first clock ${late} ms after its at, not before`, () => {
    const d = new CoreDriver()
    const at = T0 + lead
    assert.deepEqual(brief(d.add('t', { at }).events), ['task.added t'])
    assert.equal(d.task('t').state, 'scheduled')
    assert.equal(d.nextEventAt(), at)
    assert.deepEqual(d.clockAt(at - 1).events, [])
    assert.equal(d.task('t').state, 'scheduled')
    assert.deepEqual(d.plan().effects, [])
    const due = d.clockAt(at + late).events
    assert.deepEqual(brief(due), ['task.due t'])
    assert.equal(only(due, 'task.due')[0]?.reason, 'date')
    assert.equal(d.task('t').dueAt, at)
    assert.deepEqual(d.plan().effects, [{ type: 'spawn', task: 't' }])
    assert.deepEqual(d.clockAt(at + late + 1).events, [], 'due only once')
  })
}

const deadlineCases = [
  { label: 'default window', urgency: undefined, window: 5 * MIN, deadline: T0 + 20 * MIN },
  { label: 'configured window', urgency: 30 * MIN, window: 30 * MIN, deadline: T0 + 40 * MIN },
]
for (const { label, urgency, window, deadline } of deadlineCases) {
  test(`deadline bump (${label}): task.priority reason deadline exactly when the window opens`, () => {
    const d = new CoreDriver(urgency === undefined ? {} : { config: { urgencyMs: urgency } })
    d.add('t', { priority: 'low', at: T0 + 60 * MIN, deadline })
    const opens = deadline - window
    assert.equal(d.nextEventAt(), opens)
    assert.deepEqual(d.clockAt(opens - 1).events, [])
    assert.equal(d.task('t').priority, 'low')
    const bump = only(d.clockAt(opens).events, 'task.priority')
    assert.deepEqual(bump.map((e) => [e.from, e.to, e.reason]), [['low', 'high', 'deadline']])
    assert.equal(d.task('t').priority, 'high')
    // (The core takes a deadline before `at`, which the input rules refuse: it passes before it is due.)
    assert.equal(d.nextEventAt(), deadline, 'next its deadline passes')
    assert.deepEqual(d.clockAt(deadline).events.map((e) => e.type), ['task.deadline-missed'])
    assert.equal(d.nextEventAt(), T0 + 60 * MIN, 'next the task falls due')
    assert.deepEqual(d.clockAt(T0 + 61 * MIN).events.map((e) => e.type), ['task.due'])
  })
}

for (const [label, deadline] of [['inside the window', T0 + 2 * MIN], ['past its deadline', T0 - MIN]] as const) {
  test(`a task added ${label} is bumped at once and starts before older medium tasks`, () => {
    const d = new CoreDriver()
    d.add('older')
    const { events } = d.add('late', { priority: 'low', deadline })
    assert.deepEqual(brief(events), ['task.added late', 'task.due late', 'task.priority late'])
    assert.deepEqual(only(events, 'task.priority').map((e) => [e.from, e.to, e.reason]), [['low', 'high', 'deadline']])
    assert.deepEqual(d.plan().effects.map((e) => e.task), ['late', 'older'])
  })
}

const demotions = [
  { base: 'high', after: ['high', 'medium', 'medium', 'low', 'low'] },
  { base: 'medium', after: ['medium', 'low', 'low', 'low', 'low'] },
  { base: 'low', after: ['low', 'low', 'low', 'low', 'low'] },
] as const
for (const { base, after } of demotions) {
  test(`failure demotion of a ${base} task: one class per 2 failures, floor low, success restores`, () => {
    const d = new CoreDriver()
    d.add('t', { priority: base, retries: 10 })
    let current: string = base
    for (const expected of after) {
      const moves = only(cycle(d, 't', 1).events, 'task.priority')
      assert.equal(d.task('t').priority, expected)
      assert.deepEqual(moves.map((e) => [e.from, e.to, e.reason]), expected === current ? [] : [[current, expected, 'failures']])
      current = expected
    }
    const restored = only(cycle(d, 't', 0).events, 'task.priority')
    assert.deepEqual(restored.map((e) => [e.from, e.to, e.reason]), current === base ? [] : [[current, base, 'failures']])
    assert.equal(d.task('t').priority, base)
    assert.equal(d.task('t').state, 'succeeded')
  })
}

for (const jitter of [-1, -0.5, 0, 0.37, 1]) {
  test(`retries back off (jitter ${jitter}): base 1s, factor 2, within ±20 %, growing, then task.failed`, () => {
    const d = new CoreDriver()
    d.add('t', { retries: 4 })
    const waits: number[] = []
    for (let n = 1; n <= 4; n += 1) {
      const exitAt = d.now
      const retry = only(cycle(d, 't', 1, jitter).events, 'task.retrying')
      assert.equal(retry.length, 1)
      const wait = Date.parse(retry[0]?.at ?? '') - exitAt
      assert.equal(wait, Math.round(1000 * 2 ** (n - 1) * (1 + 0.2 * jitter)))
      assert.ok(wait >= 800 * 2 ** (n - 1) && wait <= 1200 * 2 ** (n - 1))
      assert.equal(retry[0]?.attempt, n + 1)
      const dueAt = d.task('t').dueAt
      assert.equal(d.nextEventAt(), dueAt)
      assert.deepEqual(d.clockAt(dueAt - 1).events, [])
      assert.deepEqual(d.clockAt(dueAt).events.map((e) => [e.type, e.type === 'task.due' && e.reason]), [['task.due', 'backoff']])
      waits.push(wait)
    }
    assert.ok(waits.every((w, i) => i === 0 || w > (waits[i - 1] as number)))
    const final = cycle(d, 't', 1, jitter).events
    assert.deepEqual(final.map((e) => e.type).filter((t) => t !== 'task.priority'), ['run.exited', 'task.failed'])
    assert.equal(d.task('t').state, 'failed')
    assert.equal(d.task('t').attempts, 5)
    assert.equal(d.nextEventAt(), null)
  })
}

test('backoff waits stop growing at the 5 minute cap', () => {
  const d = new CoreDriver()
  d.add('t', { retries: 20 })
  let last = 0
  for (let n = 1; n <= 12; n += 1) {
    const at = only(cycle(d, 't', 1, 1).events, 'task.retrying')[0]?.at ?? ''
    const wait = Date.parse(at) - d.now // the exit happened at the driver's now
    assert.ok(wait <= 5 * MIN && (wait > last || wait === 5 * MIN), `retry ${n}: ${wait} after ${last}`)
    last = wait
  }
  assert.equal(last, 5 * MIN)
})

test("restart 'never' fails at once despite retries", () => {
  const d = new CoreDriver()
  d.add('t', { restart: 'never', retries: 3 })
  assert.deepEqual(brief(cycle(d, 't', 2).events), ['run.exited t', 'task.failed t'])
  assert.equal(d.task('t').state, 'failed')
})

test('stop of a running task kills it; its exit brings task.stopped and no retry', () => {
  const d = new CoreDriver()
  d.add('t', { retries: 3 })
  d.startDue()
  const pid = d.task('t').pid as number
  const stop = d.dispatch({ type: 'stop', now: d.now, name: 't' })
  assert.deepEqual(stop.effects, [{ type: 'signal', task: 't', pid, signal: 'SIGTERM' }])
  assert.deepEqual(stop.events.map((e) => e.type === 'run.stopping' && [e.cause, e.signal, e.killAt]), [['stop', 'SIGTERM', new Date(d.now + 5000).toISOString()]])
  const { events } = d.exit('t', { code: null, signal: 'SIGTERM', cause: null })
  assert.deepEqual(brief(events), ['run.exited t', 'task.stopped t'])
  assert.equal(only(events, 'run.exited')[0]?.outcome, 'stopped')
  assert.equal(d.task('t').state, 'stopped')
  assert.equal(d.task('t').consecutiveFailures, 0, 'a stop is not a failure')
  assert.equal(d.nextEventAt(), null)
  assert.equal(d.state.running.size, 0)
})

test('stop of a waiting task stops it at once; stop of a finished one is a conflict', () => {
  const d = new CoreDriver()
  d.add('t', { at: T0 + MIN })
  assert.deepEqual(brief(d.dispatch({ type: 'stop', now: d.now, name: 't' }).events), ['task.stopped t'])
  assert.equal(d.nextEventAt(), null)
  assert.throws(() => d.dispatch({ type: 'stop', now: d.now, name: 't' }), { name: 'DomainError', code: 'conflict' })
})

test('remove of a running task kills it and drops it; its later exit changes nothing', () => {
  const d = new CoreDriver()
  d.add('t')
  d.startDue()
  const pid = d.task('t').pid as number
  const removal = d.dispatch({ type: 'remove', now: d.now, name: 't' })
  assert.deepEqual(removal.effects, [{ type: 'signal', task: 't', pid, signal: 'SIGTERM' }])
  assert.deepEqual(brief(removal.events), ['run.stopping t', 'task.removed t'])
  assert.equal(d.state.tasks.has('t'), false)
  assert.equal(d.state.running.size, 0)
  assert.deepEqual([...d.state.orphans.keys()], [pid], 'its run still ends: it keeps a slot')
  const exit = d.dispatch({ type: 'exited', now: d.now, name: 't', pid, code: null, signal: 'SIGTERM', cause: null, jitter: 0 })
  assert.deepEqual(brief(exit.events), ['run.exited t'])
  assert.equal((exit.events[0] as { outcome: string }).outcome, 'stopped')
  assert.equal(d.state.tasks.size, 0)
  assert.equal(d.state.orphans.size, 0)
})

test('boot turns runs left running into run.exited interrupted, then task.due, without counting a failure', () => {
  const before = new CoreDriver()
  before.add('t', { retries: 0 })
  before.startDue()
  const record = JSON.parse(JSON.stringify(recordOf(before.task('t')))) as TaskRecord // as the store keeps it
  const d = new CoreDriver({ now: T0 + 5000 })
  restore(d.state, record)
  d.state.seq = before.state.seq
  const { events } = d.dispatch({ type: 'boot', now: d.now })
  assert.deepEqual(brief(events), ['run.exited t', 'task.due t'])
  assert.equal(only(events, 'run.exited')[0]?.outcome, 'interrupted')
  assert.equal(only(events, 'run.exited')[0]?.durationMs, 5000)
  assert.equal(only(events, 'task.due')[0]?.reason, 'interrupted')
  assert.equal(d.task('t').state, 'ready')
  assert.equal(d.task('t').consecutiveFailures, 0)
  assert.equal(d.state.running.size, 0)
  assert.deepEqual(d.startDue(), ['t'])
})

test('apply: identical digests change nothing, a changed digest updates, prune removes the rest', () => {
  const d = new CoreDriver()
  const a = spec('a')
  const b = spec('b', { at: T0 + MIN })
  d.dispatch({ type: 'apply', now: d.now, specs: [a, b], prune: false })
  d.add('c')
  assert.deepEqual(d.startDue(), ['a', 'c'])
  d.exit('a')
  const same = d.dispatch({ type: 'apply', now: d.now, specs: [spec('a'), spec('b', { at: T0 + MIN })], prune: false })
  assert.deepEqual(same, { events: [], effects: [] })
  d.clockAt(T0 + 2 * MIN)
  const changed = d.dispatch({ type: 'apply', now: d.now, specs: [a, spec('b', { priority: 'high' })], prune: false })
  assert.deepEqual(brief(changed.events), ['task.updated b', 'task.due b'])
  assert.equal(d.task('b').spec.priority, 'high')
  assert.equal(d.task('b').state, 'ready')
  const cPid = d.task('c').pid as number
  const pruned = d.dispatch({ type: 'apply', now: d.now, specs: [spec('b', { priority: 'high' })], prune: true })
  assert.deepEqual(brief(pruned.events).sort(), ['run.stopping c', 'task.removed a', 'task.removed c'])
  assert.deepEqual(pruned.effects, [{ type: 'signal', task: 'c', pid: cPid, signal: 'SIGTERM' }])
  assert.deepEqual([...d.state.tasks.keys()], ['b'])
})

for (const [label, code, at] of [['succeeds', 0, T0 + 10 * MIN], ['fails', 1, T0 + 10 * MIN], ['succeeds', 0, T0 - MIN]] as const) {
  test(`apply while a task runs: the run goes on; when it ${label}, the new definition starts a cycle of its own (at ${at > T0 ? 'later' : 'past'})`, () => {
    const d = new CoreDriver()
    d.add('t', { retries: 3 })
    assert.deepEqual(d.startDue(), ['t'])
    const pid = d.task('t').pid
    const updated = d.dispatch({ type: 'apply', now: d.now, specs: [spec('t', { retries: 3, at, priority: 'high' })], prune: false })
    assert.deepEqual(brief(updated.events), ['task.updated t'])
    assert.deepEqual(updated.effects, [], 'the run is not killed')
    assert.equal(d.task('t').state, 'running')
    assert.equal(d.task('t').pid, pid)
    assert.equal(d.task('t').spec.priority, 'high', 'the new definition is in place')
    d.advance(1000)
    const ended = d.exit('t', { code })
    // Neither task.succeeded nor a retry of the old cycle: the new definition starts afresh.
    const due = at <= d.now
    assert.deepEqual(brief(ended.events), ['run.exited t', 'task.scheduled t', ...(due ? ['task.due t'] : [])])
    const scheduled = only(ended.events, 'task.scheduled')[0]
    assert.equal(scheduled?.reason, 'updated')
    assert.equal(scheduled?.at, new Date(at).toISOString())
    const task = d.task('t')
    assert.equal(task.state, due ? 'ready' : 'scheduled')
    assert.equal(task.consecutiveFailures, 0, 'failures of the old definition do not count against the new one')
    assert.equal(task.attempts, 0)
    assert.equal(task.priority, 'high')
    assert.equal(task.rearm, false)
    if (!due) {
      assert.equal(d.nextEventAt(), at)
      assert.deepEqual(brief(d.clockAt(at).events), ['task.due t'])
    }
    assert.deepEqual(d.startDue(), ['t'])
    assert.deepEqual(brief(d.exit('t').events), ['run.exited t', 'task.succeeded t'], 'the cycle after that is an ordinary one')
  })
}

test('errors: duplicate add is a conflict, unknown names are not_found, nothing changes', () => {
  const d = new CoreDriver()
  d.add('t')
  const seq = d.state.seq
  assert.throws(() => d.add('t'), (e: unknown) => e instanceof DomainError && e.code === 'conflict')
  for (const type of ['remove', 'run', 'stop'] as const) {
    assert.throws(() => d.dispatch({ type, now: d.now, name: 'ghost' }), (e: unknown) => e instanceof DomainError && e.code === 'not_found')
  }
  // A start for a task that is not there (removed while starting) is no error: the run is ended.
  const ghost = decide(createState(), { type: 'started', now: T0, name: 'ghost', pid: 1 })
  assert.deepEqual(ghost.events.map((e) => e.type), ['run.started', 'run.stopping'])
  assert.deepEqual(ghost.effects, [{ type: 'signal', task: 'ghost', pid: 1, signal: 'SIGTERM' }])
  d.startDue()
  assert.throws(() => d.dispatch({ type: 'run', now: d.now, name: 't' }), { code: 'conflict' })
  assert.equal(d.state.seq, seq + 1, 'only the start was logged')
})
