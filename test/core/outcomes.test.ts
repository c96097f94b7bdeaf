// Outcomes that say what happened: a run ended on purpose is `stopped` (never a failure), a restart
// starts it again at once without spending a retry, and a kill says why (memory, timeout, outside).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { countFailure, failureCause } from '../../src/core/failures.js'
import type { TaskEvent } from '../../src/core/types.js'
import { brief, CoreDriver } from '../helpers/core-driver.js'

const MB = 1024 * 1024
const exitOf = (events: readonly TaskEvent[]): Extract<TaskEvent, { type: 'run.exited' }> => {
  const exit = events.find((e): e is Extract<TaskEvent, { type: 'run.exited' }> => e.type === 'run.exited')
  assert.ok(exit !== undefined, 'a run.exited event')
  return exit
}

test('restart of a running task kills it (cause restart); its exit is stopped and brings it due again at once, no failure, no retry spent', () => {
  const d = new CoreDriver()
  d.add('svc', { retries: 0, restart: 'never' })
  d.startDue()
  const pid = d.task('svc').pid as number
  const restart = d.dispatch({ type: 'restart', now: d.now, name: 'svc' })
  assert.deepEqual(restart.effects, [{ type: 'signal', task: 'svc', pid, signal: 'SIGTERM' }])
  assert.deepEqual(brief(restart.events), ['run.stopping svc'])
  // The runtime reports only the signal: the core knows why it was sent.
  const { events } = d.exit('svc', { code: null, signal: 'SIGTERM', cause: null })
  assert.deepEqual(brief(events), ['run.exited svc', 'task.due svc'])
  assert.equal(exitOf(events).outcome, 'stopped')
  assert.equal(exitOf(events).cause, 'stopped to restart')
  assert.equal(d.task('svc').state, 'ready')
  assert.equal(d.task('svc').consecutiveFailures, 0)
  assert.equal(d.task('svc').priority, 'medium', 'no demotion')
  assert.deepEqual(d.startDue(), ['svc'], 'started again at once, though retries is 0 and restart never')
})

test('restart of a task that is not running makes it due now; of a ready one changes nothing', () => {
  const d = new CoreDriver()
  d.add('later', { at: d.now + 3_600_000 })
  assert.deepEqual(brief(d.dispatch({ type: 'restart', now: d.now, name: 'later' }).events), ['task.due later'])
  assert.equal(d.task('later').state, 'ready')
  assert.deepEqual(d.dispatch({ type: 'restart', now: d.now, name: 'later' }), { events: [], effects: [] })
})

test('remove of a running task: its run is stopped (outcome stopped, cause names the removal)', () => {
  const d = new CoreDriver()
  d.add('gone')
  d.startDue()
  const pid = d.task('gone').pid as number
  d.dispatch({ type: 'remove', now: d.now, name: 'gone' })
  const { events } = d.dispatch({ type: 'exited', now: d.now, name: 'gone', pid, code: null, signal: 'SIGTERM', cause: 'remove', jitter: 0 })
  assert.equal(exitOf(events).outcome, 'stopped')
  assert.equal(exitOf(events).cause, 'stopped: the task was removed')
})

test('a memory kill says memory, its limit and its peak; errors count it once per limit, whatever the peak', () => {
  const d = new CoreDriver()
  d.add('hog', { memoryBytes: 100 * MB, retries: 5 })
  d.startDue()
  const first = exitOf(d.exit('hog', { code: null, signal: 'SIGKILL', cause: 'memory', peakMemory: 113 * MB }).events)
  assert.equal(first.outcome, 'killed')
  assert.equal(first.cause, 'memory limit 100M exceeded (peak 113M)')
  assert.equal(failureCause(first), 'memory limit 100M exceeded')
  const groups = new Map()
  countFailure(groups, first)
  countFailure(groups, { ...first, cause: 'memory limit 100M exceeded (peak 140M)' })
  assert.deepEqual([...groups.values()].map((g: { cause: string; count: number }) => [g.cause, g.count]), [['memory limit 100M exceeded', 2]])
})

test('a timeout says so with its limit; a kill nobody in the supervisor asked for says it came from outside', () => {
  const d = new CoreDriver()
  d.add('slow', { timeoutMs: 7000 })
  d.add('victim')
  d.startDue()
  assert.equal(exitOf(d.exit('slow', { code: null, signal: 'SIGTERM', cause: 'timeout' }).events).cause, 'timeout after 7s')
  const outside = exitOf(d.exit('victim', { code: null, signal: 'SIGKILL' }).events)
  assert.equal(outside.outcome, 'killed')
  assert.equal(outside.cause, 'killed by SIGKILL from outside')
  assert.equal(failureCause(outside), 'killed by SIGKILL from outside')
})

test('a stopped run is never a failure: errors do not count it', () => {
  const d = new CoreDriver()
  d.add('t')
  d.startDue()
  d.dispatch({ type: 'stop', now: d.now, name: 't' })
  const exited = exitOf(d.exit('t', { code: null, signal: 'SIGTERM', cause: 'stop' }).events)
  assert.equal(failureCause(exited), null)
  assert.equal(countFailure(new Map(), exited), null)
})
