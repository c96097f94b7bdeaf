// Preemption: a task whose deadline window is open and finds no free slot may have a `preemptible` run
// stopped to make room. The run ends `preempted` (no failure, no attempt spent), its task is due again
// in its old place; a run that is not preemptible is never touched.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { countFailure, type ErrorGroup } from '../../src/core/failures.js'
import type { TaskEvent } from '../../src/core/types.js'
import { brief, CoreDriver, NO_LIMITS, T0 } from '../helpers/core-driver.js'

const MIN = 60_000
const KILL_MS = 5000
const ONE_SLOT = { ...NO_LIMITS, maxConcurrent: 1 }
const TWO_SLOTS = { ...NO_LIMITS, maxConcurrent: 2 }

type Exited = Extract<TaskEvent, { type: 'run.exited' }>

/** `victim` runs in the only slot; `urgent` (deadline T0+10m, 2m expected) opens its window at T0+3m. */
function crowded(victim: { preemptible: boolean; retries?: number }): CoreDriver {
  const d = new CoreDriver({ config: { killTimeoutMs: KILL_MS } })
  d.add('victim', { priority: 'low', preemptible: victim.preemptible, retries: victim.retries ?? 0 })
  assert.deepEqual(d.startDue(undefined, ONE_SLOT), ['victim'])
  d.add('urgent', { deadline: T0 + 10 * MIN, expectMs: 2 * MIN })
  return d
}

describe('preemption', () => {
  it('a preemptible run is stopped for a task whose deadline window opened with no slot free', () => {
    const d = crowded({ preemptible: true })
    assert.deepEqual(d.plan(undefined, ONE_SLOT).effects, [], 'nothing before the window opens')
    d.clockAt(T0 + 3 * MIN)
    assert.equal(d.task('urgent').priority, 'high', 'bumped')
    assert.deepEqual(d.plan(undefined, ONE_SLOT).effects, [{ type: 'preempt', task: 'victim', for: 'urgent' }])
    assert.deepEqual(d.startDue(undefined, ONE_SLOT), [], 'the urgent task waits for the slot')
    const stopping = d.log.at(-1)
    assert.equal(stopping?.type, 'run.stopping')
    assert.equal((stopping as Extract<TaskEvent, { type: 'run.stopping' }>).cause, 'preempt')
    assert.deepEqual(d.effects, [{ type: 'signal', task: 'victim', pid: 1000, signal: 'SIGTERM' }], 'its group is signalled')
    assert.deepEqual(d.plan(undefined, ONE_SLOT).effects, [], 'one preemption at a time: a slot is coming')

    const end = d.exit('victim', { code: null, signal: 'SIGTERM' })
    assert.deepEqual(brief(end.events), ['run.exited victim', 'task.due victim'])
    const exited = end.events[0] as Exited
    assert.equal(exited.outcome, 'preempted')
    assert.match(exited.cause ?? '', /preempted/)
    assert.equal((end.events[1] as Extract<TaskEvent, { type: 'task.due' }>).reason, 'preempted')
    const victim = d.task('victim')
    assert.equal(victim.state, 'ready')
    assert.equal(victim.attempts, 0, 'no attempt spent')
    assert.equal(victim.consecutiveFailures, 0, 'no failure')
    assert.equal(victim.priority, 'low', 'not demoted')

    assert.deepEqual(d.startDue(undefined, ONE_SLOT), ['urgent'])
    d.exit('urgent')
    assert.deepEqual(d.startDue(undefined, ONE_SLOT), ['victim'], 'the preempted task runs again next')
    assert.equal(d.task('victim').attempts, 1, 'its next run is its first attempt again')
    const groups = new Map<string, ErrorGroup>()
    for (const event of d.log) countFailure(groups, event)
    assert.equal(groups.size, 0, 'nothing in errors')
  })

  it('a run that is not preemptible is never touched: the urgent task waits', () => {
    const d = crowded({ preemptible: false })
    d.clockAt(T0 + 3 * MIN)
    assert.deepEqual(d.plan(undefined, ONE_SLOT).effects, [])
    d.startDue(undefined, ONE_SLOT)
    assert.equal(d.task('victim').stopping, null)
    assert.deepEqual(d.effects, [])
  })

  it('a preempted task with no retries left is due again, not failed', () => {
    const d = crowded({ preemptible: true, retries: 0 })
    d.clockAt(T0 + 3 * MIN)
    d.startDue(undefined, ONE_SLOT)
    d.exit('victim', { code: null, signal: 'SIGTERM' })
    assert.equal(d.task('victim').state, 'ready')
  })

  it('the kill timeout is honoured: SIGKILL only once it passes', () => {
    const d = crowded({ preemptible: true })
    d.clockAt(T0 + 3 * MIN)
    d.startDue(undefined, ONE_SLOT)
    assert.deepEqual(d.advance(KILL_MS - 1).effects, [])
    assert.deepEqual(d.advance(1).effects, [{ type: 'signal', task: 'victim', pid: 1000, signal: 'SIGKILL' }])
    const end = d.exit('victim', { code: null, signal: 'SIGKILL' })
    assert.equal((end.events[0] as Exited).outcome, 'preempted')
  })

  it('only a task near its deadline preempts: high priority alone does not', () => {
    const d = new CoreDriver()
    d.add('victim', { priority: 'low', preemptible: true })
    d.startDue(undefined, ONE_SLOT)
    d.add('important', { priority: 'high' })
    d.add('far', { deadline: T0 + 60 * MIN })
    assert.deepEqual(d.startDue(undefined, ONE_SLOT), [])
    assert.equal(d.task('victim').stopping, null)
  })

  it('picks the lowest priority, then the latest started; never a run near its own deadline', () => {
    const d = new CoreDriver({ config: { killTimeoutMs: KILL_MS } })
    d.add('low-old', { priority: 'low', preemptible: true })
    d.add('high', { priority: 'high', preemptible: true })
    d.startDue(undefined, TWO_SLOTS)
    d.add('urgent', { deadline: T0 + 10 * MIN, expectMs: 2 * MIN })
    d.clockAt(T0 + 3 * MIN)
    assert.deepEqual(d.plan(undefined, TWO_SLOTS).effects, [{ type: 'preempt', task: 'low-old', for: 'urgent' }])

    const e = new CoreDriver()
    e.add('first', { priority: 'low', preemptible: true })
    e.startDue(undefined, ONE_SLOT)
    e.advance(MIN)
    e.add('second', { priority: 'low', preemptible: true })
    e.startDue(undefined, TWO_SLOTS)
    e.add('urgent', { deadline: T0 + 10 * MIN, expectMs: 2 * MIN })
    e.clockAt(T0 + 3 * MIN)
    assert.deepEqual(e.plan(undefined, TWO_SLOTS).effects, [{ type: 'preempt', task: 'second', for: 'urgent' }], 'the latest started')

    const f = new CoreDriver()
    f.add('own-deadline', { priority: 'low', preemptible: true, deadline: T0 + 8 * MIN })
    f.startDue(undefined, ONE_SLOT)
    f.add('urgent', { deadline: T0 + 10 * MIN, expectMs: 2 * MIN })
    f.clockAt(T0 + 3 * MIN)
    assert.equal(f.task('own-deadline').bumped, true)
    assert.deepEqual(f.plan(undefined, ONE_SLOT).effects, [], 'a run near its own deadline is left alone')
  })

  it('a preempt asked for a run that is gone, stopping, or not preemptible changes nothing', () => {
    const d = crowded({ preemptible: false })
    assert.deepEqual(d.dispatch({ type: 'preempt', now: d.now, name: 'victim', for: 'urgent' }), { events: [], effects: [] })
    assert.deepEqual(d.dispatch({ type: 'preempt', now: d.now, name: 'nobody', for: 'urgent' }), { events: [], effects: [] })
    const e = crowded({ preemptible: true })
    e.dispatch({ type: 'stop', now: e.now, name: 'victim' })
    assert.deepEqual(e.dispatch({ type: 'preempt', now: e.now, name: 'victim', for: 'urgent' }), { events: [], effects: [] })
    assert.equal(e.task('victim').stopping?.cause, 'stop', 'a user stop stays a stop')
  })
})
