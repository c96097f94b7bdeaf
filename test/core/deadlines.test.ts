// Missed deadlines and what a task does at its deadline (`onDeadline`): said once a cycle, counted in
// errors; `run` runs late, `skip` ends the cycle of a task not started (expired), `kill` ends a run.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { countFailure, MISSED_DEADLINE, type ErrorGroup } from '../../src/core/failures.js'
import type { TaskEvent } from '../../src/core/types.js'
import { reconfigure } from '../../src/core/state.js'
import { brief, CoreDriver, NO_LIMITS, T0 } from '../helpers/core-driver.js'

const MIN = 60_000
const ONE_SLOT = { ...NO_LIMITS, maxConcurrent: 1 }
const KILL_MS = 5000

/** A driver whose only slot is taken by `blocker` (a run going on), so that others wait. */
function busy(): CoreDriver {
  const d = new CoreDriver({ config: { killTimeoutMs: KILL_MS } })
  d.add('blocker', { priority: 'high' })
  d.startDue(undefined, ONE_SLOT)
  return d
}

describe('missed deadlines', () => {
  it('a task still waiting at its deadline: task.deadline-missed, once, and it still runs late (run)', () => {
    const d = busy()
    d.add('late', { deadline: T0 + 10 * MIN })
    assert.equal(d.nextEventAt(), T0 + 10 * MIN - 5 * MIN, 'its urgency window first')
    d.clockAt(T0 + 5 * MIN)
    assert.equal(d.nextEventAt(), T0 + 10 * MIN, 'then its deadline')
    const missed = d.clockAt(T0 + 10 * MIN)
    assert.deepEqual(brief(missed.events), ['task.deadline-missed late'])
    assert.equal((missed.events[0] as Extract<TaskEvent, { type: 'task.deadline-missed' }>).deadline, new Date(T0 + 10 * MIN).toISOString())
    assert.equal(d.nextEventAt(), null, 'said once')
    assert.deepEqual(brief(d.clockAt(T0 + 20 * MIN).events), [])
    d.exit('blocker')
    assert.deepEqual(d.startDue(undefined, ONE_SLOT), ['late'], 'it runs late')
  })

  it('is counted in errors under a cause naming the deadline, one group however many cycles', () => {
    const d = busy()
    d.add('late', { deadline: T0 + 10 * MIN })
    d.clockAt(T0 + 10 * MIN)
    const groups = new Map<string, ErrorGroup>()
    for (const event of d.log) countFailure(groups, event)
    const [group] = [...groups.values()]
    assert.equal(group?.cause, MISSED_DEADLINE)
    assert.match(group?.cause ?? '', /deadline/)
    assert.equal(group?.task, 'late')
  })

  it('is not said for a task that succeeded in time, nor for one a user stopped', () => {
    const d = new CoreDriver()
    d.add('done', { deadline: T0 + 10 * MIN })
    d.startDue()
    d.exit('done')
    d.add('halted', { at: T0 + MIN, deadline: T0 + 10 * MIN })
    d.dispatch({ type: 'stop', now: d.now, name: 'halted' })
    assert.deepEqual(brief(d.clockAt(T0 + 10 * MIN).events), [])
  })

  it('is said for a task that failed for good before its deadline', () => {
    const d = new CoreDriver()
    d.add('broken', { deadline: T0 + 10 * MIN, retries: 0 })
    d.startDue()
    d.fail('broken')
    assert.equal(d.task('broken').state, 'failed')
    assert.deepEqual(brief(d.clockAt(T0 + 10 * MIN).events), ['task.deadline-missed broken'])
  })

  it('a new cycle begun before the deadline may miss it; one asked for after it is late by choice, not a miss', () => {
    const d = busy()
    d.add('early', { deadline: T0 + 10 * MIN, retries: 0 })
    d.exit('blocker')
    d.startDue(undefined, ONE_SLOT)
    d.fail('early')
    d.dispatch({ type: 'run', now: d.now, name: 'early' })
    assert.equal(d.task('early').missed, false, 'a new cycle, begun in time')
    d.clockAt(T0 + 5 * MIN)
    assert.deepEqual(brief(d.clockAt(T0 + 10 * MIN).events), ['task.deadline-missed early'])
    d.startDue(undefined, ONE_SLOT)
    d.exit('early')
    d.dispatch({ type: 'run', now: d.now, name: 'early' })
    assert.equal(d.task('early').missed, true, 'begun after its deadline: nothing left to miss')
    assert.equal(d.nextEventAt(), null)
  })
})

describe('onDeadline', () => {
  it('skip: a task not started by its deadline ends its cycle expired, and never starts', () => {
    const d = busy()
    d.add('report', { deadline: T0 + 10 * MIN, onDeadline: 'skip' })
    d.clockAt(T0 + 5 * MIN)
    const passed = d.clockAt(T0 + 10 * MIN)
    assert.deepEqual(brief(passed.events), ['task.deadline-missed report', 'task.expired report'])
    assert.equal(d.task('report').state, 'expired')
    d.exit('blocker')
    assert.deepEqual(d.startDue(undefined, ONE_SLOT), [])
    d.dispatch({ type: 'run', now: d.now, name: 'report' })
    assert.equal(d.task('report').state, 'ready', 'run starts a new cycle')
  })

  it('skip leaves a run going on alone', () => {
    const d = new CoreDriver({ config: { killTimeoutMs: KILL_MS } })
    d.add('long', { deadline: T0 + 10 * MIN, onDeadline: 'skip' })
    d.startDue()
    d.clockAt(T0 + 5 * MIN)
    assert.deepEqual(brief(d.clockAt(T0 + 10 * MIN).events), ['task.deadline-missed long'])
    assert.equal(d.task('long').state, 'running')
  })

  it('kill: a run still going at its deadline is ended, outcome deadline, and not retried', () => {
    const d = new CoreDriver({ config: { killTimeoutMs: KILL_MS } })
    d.add('long', { deadline: T0 + 10 * MIN, onDeadline: 'kill', retries: 5 })
    d.startDue()
    d.clockAt(T0 + 5 * MIN)
    const passed = d.clockAt(T0 + 10 * MIN)
    assert.deepEqual(brief(passed.events), ['task.deadline-missed long', 'run.stopping long'])
    assert.deepEqual(passed.effects, [{ type: 'signal', task: 'long', pid: 1000, signal: 'SIGTERM' }])
    const end = d.exit('long', { code: null, signal: 'SIGTERM' })
    const exited = end.events.find((e) => e.type === 'run.exited') as Extract<TaskEvent, { type: 'run.exited' }>
    assert.equal(exited.outcome, 'deadline')
    assert.equal(exited.cause, `killed at its deadline ${new Date(T0 + 10 * MIN).toISOString()}`)
    assert.deepEqual(brief(end.events), ['run.exited long', 'task.failed long'])
    const groups = new Map<string, ErrorGroup>()
    for (const event of d.log) countFailure(groups, event)
    assert.deepEqual([...groups.values()].map((g) => g.cause).sort(), ['killed at its deadline', MISSED_DEADLINE])
  })
})

describe('at risk', () => {
  const HOUR = 60 * MIN
  const assess = (d: CoreDriver) => d.dispatch({ type: 'assess', now: d.now, slots: 1, unknownMs: MIN })

  it('a deadline task the forecast expects to end late is said at risk once a cycle, with its expected end', () => {
    const d = new CoreDriver()
    d.add('blocker', { priority: 'high', expectMs: HOUR })
    d.startDue(undefined, ONE_SLOT)
    d.add('report', { deadline: T0 + 30 * MIN, expectMs: 10 * MIN })
    d.add('relaxed', { deadline: T0 + 3 * HOUR, expectMs: 10 * MIN })
    const first = assess(d)
    assert.deepEqual(brief(first.events), ['task.at-risk report'])
    const event = first.events[0] as Extract<TaskEvent, { type: 'task.at-risk' }>
    assert.equal(event.deadline, new Date(T0 + 30 * MIN).toISOString())
    assert.equal(event.expectedEnd, new Date(T0 + 70 * MIN).toISOString())
    assert.equal(d.task('report').atRisk, true)
    assert.deepEqual(assess(d).events, [], 'said once')
  })

  it('says nothing of a task that will make it, of one whose deadline passed, or when there is no deadline', () => {
    const d = new CoreDriver()
    d.add('fine', { deadline: T0 + HOUR, expectMs: 10 * MIN })
    d.add('plain')
    assert.deepEqual(assess(d).events, [])
  })

  it('a new cycle may be at risk again', () => {
    const d = new CoreDriver()
    d.add('blocker', { priority: 'high', expectMs: HOUR })
    d.startDue(undefined, ONE_SLOT)
    d.add('report', { deadline: T0 + 30 * MIN, expectMs: 10 * MIN, retries: 0 })
    assess(d)
    d.dispatch({ type: 'stop', now: d.now, name: 'report' })
    d.dispatch({ type: 'run', now: d.now, name: 'report' })
    assert.equal(d.task('report').atRisk, false)
    assert.deepEqual(brief(assess(d).events), ['task.at-risk report'])
  })
})

describe('a new urgency window (live reload)', () => {
  it('moves every waiting deadline task\'s wake: a longer window bumps it sooner', () => {
    const d = busy()
    d.add('soon', { deadline: T0 + 60 * MIN })
    assert.equal(d.nextEventAt(), T0 + 55 * MIN, 'the 5-minute window')
    reconfigure(d.state, { urgencyMs: 30 * MIN })
    assert.equal(d.nextEventAt(), T0 + 30 * MIN, 'the 30-minute window')
    const bumped = d.clockAt(T0 + 30 * MIN)
    assert.deepEqual(brief(bumped.events), ['task.priority soon'])
    assert.equal(d.task('soon').priority, 'high')
  })
})
