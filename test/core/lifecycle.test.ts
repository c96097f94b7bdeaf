// The run lifecycle, decided by the core alone: starting (launch asked, pid not known), running, being
// ended (run.stopping: SIGTERM, then SIGKILL at the kill timeout), ended; with stop, remove, restart,
// timeout, memory samples and shutdown landing at each point, and a daemon restarted in between.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { launching } from '../../src/core/state.js'
import { restore } from '../../src/core/reducer.js'
import { recordOf } from '../../src/core/task-record.js'
import type { TaskEvent } from '../../src/core/types.js'
import { brief, CoreDriver, T0, type Step } from '../helpers/core-driver.js'

const KILL_MS = 5000
const iso = (ms: number): string => new Date(ms).toISOString()

type Stopping = Extract<TaskEvent, { type: 'run.stopping' }>
const stoppings = (step: Step): [string, string | null, string | null][] =>
  step.events.filter((e): e is Stopping => e.type === 'run.stopping').map((e) => [e.cause, e.signal, e.killAt])
const exited = (step: Step): Extract<TaskEvent, { type: 'run.exited' }> => {
  const event = step.events.find((e) => e.type === 'run.exited')
  assert.ok(event?.type === 'run.exited', 'a run.exited')
  return event
}

/** A driver with one task launched (its start asked for) but not yet reported. */
function launched(name: string, fields = {}): CoreDriver {
  const d = new CoreDriver({ config: { killTimeoutMs: KILL_MS } })
  d.add(name, fields)
  const planned = d.plan().effects
  assert.deepEqual(planned, [{ type: 'spawn', task: name }])
  launching(d.state, d.task(name))
  return d
}

/** A driver with one task running as pid 1000. */
function running(name: string, fields = {}): CoreDriver {
  const d = new CoreDriver({ config: { killTimeoutMs: KILL_MS } })
  d.add(name, fields)
  assert.deepEqual(d.startDue(), [name])
  return d
}

/** The same state as a new daemon reads it from the store's records (no volatile parts). */
function restarted(d: CoreDriver): CoreDriver {
  const next = new CoreDriver({ now: d.now, config: { killTimeoutMs: KILL_MS } })
  for (const task of d.state.tasks.values()) restore(next.state, recordOf(task))
  next.state.seq = d.state.seq
  return next
}

describe('starting: launch asked, pid not known', () => {
  it('is neither planned again nor left out of the slot count', () => {
    const d = launched('a')
    d.add('b')
    assert.deepEqual(d.plan().effects, [{ type: 'spawn', task: 'b' }], 'a is not planned twice')
    const full = d.plan({ cpuPercent: null, freeBytes: null }, { maxConcurrent: 1, maxCpu: 100, minFreeBytes: 0, defaultNeedBytes: 0 })
    assert.deepEqual(full.effects, [], 'the starting run holds the only slot')
  })

  it('a stop lands while starting: the task is stopped; its start, when reported, is logged and ended at once', () => {
    const d = launched('job', { retries: 3 })
    assert.deepEqual(brief(d.dispatch({ type: 'stop', now: d.now, name: 'job' }).events), ['task.stopped job'])
    const start = d.dispatch({ type: 'started', now: d.now, name: 'job', pid: 42 })
    assert.deepEqual(brief(start.events), ['run.started job', 'run.stopping job'])
    assert.deepEqual(stoppings(start), [['stop', 'SIGTERM', iso(d.now + KILL_MS)]])
    assert.deepEqual(start.effects, [{ type: 'signal', task: 'job', pid: 42, signal: 'SIGTERM' }])
    assert.equal(d.state.starting.size, 0)
    const end = d.exit('job', { code: null, signal: 'SIGTERM' })
    assert.equal(exited(end).outcome, 'stopped')
    assert.deepEqual(brief(end.events), ['run.exited job', 'task.stopped job'])
    assert.equal(d.task('job').state, 'stopped', 'no retry: the user stopped it')
  })

  it('a remove lands while starting: the reported start is logged and ended; its exit touches nothing', () => {
    const d = launched('job')
    d.dispatch({ type: 'remove', now: d.now, name: 'job' })
    const start = d.dispatch({ type: 'started', now: d.now, name: 'job', pid: 42 })
    assert.deepEqual(brief(start.events), ['run.started job', 'run.stopping job'])
    assert.deepEqual(stoppings(start), [['remove', 'SIGTERM', iso(d.now + KILL_MS)]])
    assert.deepEqual([...d.state.orphans.keys()], [42], 'the run still holds a slot until it ends')
    assert.equal(d.state.tasks.size, 0)
    const end = d.dispatch({ type: 'exited', now: d.now, name: 'job', pid: 42, code: null, signal: 'SIGTERM', cause: null, jitter: 0 })
    assert.deepEqual(brief(end.events), ['run.exited job'])
    assert.equal(exited(end).outcome, 'stopped')
    assert.equal(d.state.orphans.size, 0)
  })

  it('removed and added again while starting: the old launch is ended, not taken for the new task\'s run', () => {
    const d = launched('job')
    d.dispatch({ type: 'remove', now: d.now, name: 'job' })
    d.add('job')
    assert.deepEqual(d.plan().effects, [], 'the new task waits until the old launch is reported')
    const start = d.dispatch({ type: 'started', now: d.now, name: 'job', pid: 42 })
    assert.deepEqual(brief(start.events), ['run.stopping job'], 'no run.started: the run is not the new task\'s')
    assert.equal(d.task('job').pid, null)
    assert.equal(d.task('job').state, 'ready')
    assert.deepEqual(d.startDue(), ['job'], 'now the new task starts')
    assert.notEqual(d.task('job').pid, 42)
    const end = d.dispatch({ type: 'exited', now: d.now, name: 'job', pid: 42, code: null, signal: 'SIGTERM', cause: null, jitter: 0 })
    assert.deepEqual(brief(end.events), ['run.exited job'])
    assert.equal(d.task('job').state, 'running', 'the new run is untouched')
  })

  it('a launch that fails is no longer starting, and its task fails as any run would', () => {
    const d = launched('job')
    d.dispatch({ type: 'exited', now: d.now, name: 'job', pid: null, code: null, signal: null, cause: null, jitter: 0, error: 'spawn ENOENT' })
    assert.equal(d.state.starting.size, 0)
    assert.equal(d.task('job').state, 'failed')
  })
})

describe('ending a run: run.stopping, SIGTERM, SIGKILL at the kill timeout', () => {
  it('a timeout is the clock\'s: SIGTERM at the timeout, SIGKILL a kill timeout later, outcome timeout', () => {
    const d = running('slow', { timeoutMs: 10_000 })
    assert.equal(d.nextEventAt(), T0 + 10_000, 'the timeout is the next event')
    assert.deepEqual(d.clockAt(T0 + 9_999).effects, [])
    const term = d.clockAt(T0 + 10_000)
    assert.deepEqual(stoppings(term), [['timeout', 'SIGTERM', iso(T0 + 15_000)]])
    assert.deepEqual(term.effects, [{ type: 'signal', task: 'slow', pid: 1000, signal: 'SIGTERM' }])
    assert.equal(d.nextEventAt(), T0 + 15_000, 'then its SIGKILL')
    assert.deepEqual(d.clockAt(T0 + 14_999).effects, [])
    const kill = d.clockAt(T0 + 15_000)
    assert.deepEqual(stoppings(kill), [['timeout', 'SIGKILL', null]])
    assert.deepEqual(kill.effects, [{ type: 'signal', task: 'slow', pid: 1000, signal: 'SIGKILL' }])
    assert.equal(d.nextEventAt(), null, 'nothing more is owed')
    d.now = T0 + 15_001
    const end = d.exit('slow', { code: null, signal: 'SIGKILL' })
    assert.equal(exited(end).outcome, 'timeout')
    assert.equal(exited(end).cause, 'timeout after 10s')
    assert.equal(d.task('slow').stopping, null)
  })

  it('a second stop while being ended sends nothing and logs nothing', () => {
    const d = running('job')
    d.dispatch({ type: 'stop', now: d.now, name: 'job' })
    assert.deepEqual(d.dispatch({ type: 'stop', now: d.now, name: 'job' }), { events: [], effects: [] })
  })

  it('a user\'s stop of a run that is timing out makes it a stop: no retry follows', () => {
    const d = running('job', { timeoutMs: 1000, retries: 5 })
    d.clockAt(T0 + 1000)
    const stop = d.dispatch({ type: 'stop', now: d.now, name: 'job' })
    assert.deepEqual(stoppings(stop), [['stop', null, iso(T0 + 1000 + KILL_MS)]], 'the cause changes; no signal, same SIGKILL time')
    assert.deepEqual(stop.effects, [])
    const end = d.exit('job', { code: null, signal: 'SIGTERM' })
    assert.equal(exited(end).outcome, 'stopped')
    assert.equal(d.task('job').state, 'stopped')
  })

  it('a timeout does not override a user\'s stop in progress', () => {
    const d = running('job', { timeoutMs: 1000 })
    d.dispatch({ type: 'stop', now: d.now, name: 'job' })
    assert.deepEqual(stoppings(d.clockAt(T0 + 1000)), [])
    assert.equal(d.task('job').stopping?.cause, 'stop')
  })

  it('the memory limit is the samples\': over it, the run is ended; at it, not; outcome killed, cause memory', () => {
    const d = running('hog', { memoryBytes: 100 })
    assert.deepEqual(d.dispatch({ type: 'sampled', now: d.now, samples: [{ pid: 1000, memory: 100 }] }), { events: [], effects: [] })
    const over = d.dispatch({ type: 'sampled', now: d.now, samples: [{ pid: 1000, memory: 101 }] })
    assert.deepEqual(stoppings(over), [['memory', 'SIGTERM', iso(d.now + KILL_MS)]])
    const end = d.exit('hog', { code: null, signal: 'SIGTERM', peakMemory: 101 })
    assert.equal(exited(end).outcome, 'killed')
    assert.equal(exited(end).cause, 'memory limit 100B exceeded (peak 101B)')
  })

  it('shutdown ends every run (interrupted, due again, no failure), leaving a user\'s stop in progress a stop', () => {
    const d = new CoreDriver({ config: { killTimeoutMs: KILL_MS } })
    d.add('a')
    d.add('b')
    d.startDue()
    d.dispatch({ type: 'stop', now: d.now, name: 'b' })
    const down = d.dispatch({ type: 'shutdown', now: d.now })
    assert.deepEqual(brief(down.events), ['run.stopping a'])
    assert.deepEqual(down.effects, [{ type: 'signal', task: 'a', pid: 1000, signal: 'SIGTERM' }])
    const a = d.exit('a', { code: null, signal: 'SIGTERM' })
    assert.equal(exited(a).outcome, 'interrupted')
    assert.equal(d.task('a').state, 'ready')
    assert.equal(d.task('a').consecutiveFailures, 0)
    assert.equal(exited(d.exit('b', { code: null, signal: 'SIGTERM' })).outcome, 'stopped')
  })

  it('a removed task\'s run is still owed its SIGKILL (the clock wakes for it)', () => {
    const d = running('job')
    d.dispatch({ type: 'remove', now: d.now, name: 'job' })
    assert.equal(d.nextEventAt(), T0 + KILL_MS)
    const kill = d.clockAt(T0 + KILL_MS)
    assert.deepEqual(stoppings(kill), [['remove', 'SIGKILL', null]])
    assert.deepEqual(kill.effects, [{ type: 'signal', task: 'job', pid: 1000, signal: 'SIGKILL' }])
    assert.equal(d.nextEventAt(), null)
  })

  it('a run that ends by itself while being ended keeps the cause the supervisor gave', () => {
    const d = running('job', { retries: 2 })
    d.dispatch({ type: 'restart', now: d.now, name: 'job' })
    const end = d.exit('job', { code: 0 })
    assert.equal(exited(end).outcome, 'stopped')
    assert.deepEqual(brief(end.events), ['run.exited job', 'task.due job'])
  })
})

describe('a daemon restarted in between (the run went on with its launcher)', () => {
  it('a stop in progress survives: the exit the next daemon records is a stop, not a kill from outside to retry', () => {
    const before = running('job', { retries: 3 })
    before.dispatch({ type: 'stop', now: before.now, name: 'job' })
    const d = restarted(before)
    assert.deepEqual(d.task('job').stopping, { cause: 'stop', killAt: T0 + KILL_MS })
    const end = d.exit('job', { code: null, signal: 'SIGTERM' })
    assert.equal(exited(end).outcome, 'stopped')
    assert.equal(exited(end).cause, 'stopped by a user')
    assert.equal(d.task('job').state, 'stopped')
  })

  it('the SIGKILL owed is still sent by the next daemon at its time', () => {
    const before = running('job', { timeoutMs: 1000 })
    before.clockAt(T0 + 1000)
    const d = restarted(before)
    assert.equal(d.nextEventAt(), T0 + 1000 + KILL_MS)
    assert.deepEqual(d.clockAt(T0 + 1000 + KILL_MS).effects, [{ type: 'signal', task: 'job', pid: 1000, signal: 'SIGKILL' }])
  })

  it('a re-adopted run whose timeout passed while no daemon was there is ended by the first clock', () => {
    const before = running('job', { timeoutMs: 60_000 })
    const d = restarted(before)
    const first = d.clockAt(T0 + 5 * 60_000)
    assert.deepEqual(stoppings(first), [['timeout', 'SIGTERM', iso(T0 + 5 * 60_000 + KILL_MS)]])
    assert.deepEqual(first.effects, [{ type: 'signal', task: 'job', pid: 1000, signal: 'SIGTERM' }])
  })

  it('an exit journaled while no daemon was there keeps its status and time: a success is not run again', () => {
    const before = running('job')
    const d = restarted(before)
    d.now = T0 + 60_000
    const end = d.dispatch({ type: 'exited', now: d.now, name: 'job', pid: 1000, code: 0, signal: null, cause: null, endedAt: T0 + 7000, jitter: 0 })
    assert.equal(exited(end).outcome, 'succeeded')
    assert.equal(exited(end).durationMs, 7000)
    assert.equal(d.task('job').state, 'succeeded')
    assert.deepEqual(d.startDue(), [])
  })
})
