// Which task an exit belongs to: a removed task's late exit must not touch a new task of the same name.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { brief, CoreDriver, NO_LIMITS } from '../helpers/core-driver.js'

/** Task "a" runs, is removed (its process still dying), and a new "a" is added. */
function readded(startNew: boolean): { d: CoreDriver; oldPid: number } {
  const d = new CoreDriver()
  d.add('a')
  d.startDue()
  const oldPid = d.task('a').pid as number
  d.dispatch({ type: 'remove', now: d.now, name: 'a' })
  d.add('a', { script: 'new.js' })
  if (startNew) assert.deepEqual(d.startDue(), ['a'])
  return { d, oldPid }
}

const lateExit = (d: CoreDriver, pid: number) =>
  d.dispatch({ type: 'exited', now: d.now + 10, name: 'a', pid, code: null, signal: 'SIGTERM', cause: 'remove', jitter: 0 })

test("a removed task's late exit is logged but leaves the new task's run alone", () => {
  const { d, oldPid } = readded(true)
  const newPid = d.task('a').pid as number
  assert.notEqual(newPid, oldPid)
  assert.deepEqual(brief(lateExit(d, oldPid).events), ['run.exited a'])
  const a = d.task('a')
  assert.equal(a.state, 'running')
  assert.equal(a.pid, newPid, 'the new run keeps its pid')
  assert.equal(d.state.running.size, 1, 'the new run still counts against maxConcurrent')
  assert.equal(a.consecutiveFailures, 0)
  // ...so the new run's own exit still finishes the task.
  assert.deepEqual(brief(d.exit('a').events), ['run.exited a', 'task.succeeded a'])
  assert.equal(d.task('a').state, 'succeeded')
})

test("a removed task's late exit does not count as a failure of a new task that waits", () => {
  const { d, oldPid } = readded(false)
  lateExit(d, oldPid)
  const a = d.task('a')
  assert.equal(a.state, 'ready')
  assert.equal(a.consecutiveFailures, 0)
  assert.equal(a.lastOutcome, null)
})

test("an exit with the run's own pid is applied; an unknown pid of the same task is not", () => {
  const d = new CoreDriver()
  d.add('a', { retries: 1 })
  d.startDue()
  const pid = d.task('a').pid as number
  const stranger = d.dispatch({ type: 'exited', now: d.now, name: 'a', pid: pid + 99, code: 1, signal: null, cause: null, jitter: 0 })
  assert.deepEqual(brief(stranger.events), ['run.exited a'])
  assert.equal(d.task('a').state, 'running')
  assert.equal(d.task('a').pid, pid)
  assert.deepEqual(brief(d.fail('a').events), ['run.exited a', 'task.retrying a'])
})

test('a spawn that failed (no pid) is a failed attempt of the ready task, retried by policy', () => {
  const d = new CoreDriver()
  d.add('a', { retries: 1 })
  assert.deepEqual(d.plan(undefined, NO_LIMITS).effects, [{ type: 'spawn', task: 'a' }])
  const failed = d.dispatch({ type: 'exited', now: d.now, name: 'a', pid: null, code: null, signal: null, cause: null, jitter: 0, error: 'ENOENT' })
  assert.deepEqual(brief(failed.events), ['run.exited a', 'task.retrying a'])
  const exited = failed.events[0]
  assert.ok(exited?.type === 'run.exited' && exited.outcome === 'failed' && exited.error === 'ENOENT')
  assert.equal(d.task('a').state, 'retrying')
  assert.equal(d.task('a').consecutiveFailures, 1)
})
