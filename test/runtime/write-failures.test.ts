// Writes that fail (a full disk): starts and exits are kept and retried in order until they land, never
// applied twice; their pids are never signalled again; requests fail and change nothing; `degraded` says so.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Action } from '../../src/core/actions.js'
import { DomainError } from '../../src/core/errors.js'
import { makeSupervisor, type Harness } from '../helpers/fakes.js'
import { FailingStore } from '../helpers/failing-store.js'
import { waitFor } from '../helpers/wait.js'

const isStoreError = (error: unknown): boolean =>
  error instanceof DomainError && error.code === 'internal' && /^store: .*No space left on device/.test(error.message)

/** Every logged seq once, in order, with no gap: nothing applied twice, nothing skipped. */
function assertSeqsContiguous(h: Harness): void {
  const seqs = h.store.events.map((e) => e.seq)
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1))
}

test('an exit whose write fails stays queued, its pid is never signalled, and it lands once writes work', async (t) => {
  const store = new FailingStore()
  const h = await makeSupervisor({ store, killTimeoutMs: 1000 })
  t.after(h.close)
  await h.add({ name: 'job', timeout: '5s', retries: 0 })
  const [run] = h.spawner.spawnsOf('job')
  assert.ok(run !== undefined)
  store.failing = true
  h.spawner.exit(run.pid, 0)
  // The exit's own clean-up of its group is the last signal that pid may get.
  const afterExit = h.spawner.signals.length
  const degraded = await waitFor(() => h.supervisor.degraded, 'the supervisor to say it is degraded')
  assert.match(degraded.problem, /No space left on device/)
  assert.equal(h.supervisor.unrecorded, 1)
  assert.equal(h.task('job').pid, run.pid, 'not logged, so the state still shows the run')

  await assert.rejects(h.supervisor.request({ type: 'stop', now: h.clock.now(), name: 'job' }), isStoreError)
  await assert.rejects(h.supervisor.request({ type: 'remove', now: h.clock.now(), name: 'job' }), isStoreError)
  // Past its timeout and any kill timeout: the tick must not end a run that already ended.
  h.clock.advance(10_000)
  await h.supervisor.pump()
  h.clock.advance(10_000)
  await h.supervisor.pump()
  assert.deepEqual(h.spawner.signals.slice(afterExit), [], 'no signal to a pid whose exit was reported')
  assert.equal(h.events('run.exited').length, 0)
  assert.equal(h.events('task.stopped').length + h.events('task.removed').length, 0, 'the failed requests changed nothing')

  store.failing = false
  await waitFor(() => h.events('run.exited', 'job').length === 1, 'the exit to land')
  await h.settle()
  assert.equal(h.supervisor.degraded, null)
  assert.equal(h.supervisor.unrecorded, 0)
  assert.equal(h.events('run.exited', 'job')[0]?.outcome, 'succeeded')
  assert.equal(h.task('job').state, 'succeeded')
  assert.equal(h.task('job').pid, null)
  assert.equal(h.supervisor.state.running.size, 0)
  assert.deepEqual(h.spawner.signals.slice(afterExit), [])
  assertSeqsContiguous(h)
})

test('a burst whose second round fails N times: retried as it was, in order, the first round never twice', async (t) => {
  const store = new FailingStore()
  const h = await makeSupervisor({ store })
  t.after(h.close)
  h.spawner.exitAtOnce = 0
  let failures = 3
  store.failWhen = (events) => events.some((e) => e.type === 'run.exited') && failures-- > 0
  for (const name of ['a', 'b', 'c']) await h.supervisor.dispatcher.dispatch({ type: 'add', now: h.clock.now(), spec: h.spec({ name }) })
  await h.supervisor.pump()
  await waitFor(() => h.events('run.exited').length === 3, 'all three exits to land', 5000)
  await h.settle()

  const runs = store.attempts.filter((a) => a.events.some((e) => e.type.startsWith('run.')))
  // One round of starts, then the round of exits: three failures, then the same events, same seqs.
  assert.deepEqual(runs.map((a) => a.ok), [true, false, false, false, true])
  assert.deepEqual(runs[0]?.events.map((e) => `${e.type} ${e.task}`), ['run.started a', 'run.started b', 'run.started c'])
  for (const failed of runs.slice(1, 4)) assert.deepEqual(failed.events, runs[4]?.events)
  for (const name of ['a', 'b', 'c']) {
    assert.deepEqual(h.store.events.filter((e) => e.task === name).map((e) => e.type),
      ['task.added', 'task.due', 'run.started', 'run.exited', 'task.succeeded'], name)
    assert.equal(h.task(name).state, 'succeeded')
  }
  assertSeqsContiguous(h)
  assert.equal(h.supervisor.degraded, null)
})

test('handleAll: a failed later round leaves exactly the unwritten actions in the queue, nothing of them applied', async (t) => {
  const store = new FailingStore()
  const h = await makeSupervisor({ store })
  t.after(h.close)
  const { dispatcher } = h.supervisor
  await dispatcher.dispatch({ type: 'add', now: h.clock.now(), spec: h.spec({ name: 'a' }) })
  const exited: Action = { type: 'exited', now: h.clock.now(), name: 'a', pid: 4242, code: 0, signal: null, cause: null, jitter: 0 }
  const queue: Action[] = [{ type: 'started', now: h.clock.now(), name: 'a', pid: 4242 }, exited]
  store.failWhen = (events) => events.some((e) => e.type === 'run.exited')
  await assert.rejects(dispatcher.serial(() => dispatcher.handleAll(queue)), isStoreError)
  assert.deepEqual(queue, [exited])
  assert.equal(h.task('a').pid, 4242, 'the written start is applied')
  assert.equal(h.task('a').state, 'running', 'the unwritten exit is not')
  store.failWhen = () => false
  await dispatcher.serial(() => dispatcher.handleAll(queue))
  assert.deepEqual(queue, [])
  assert.deepEqual(h.store.events.map((e) => e.type), ['task.added', 'task.due', 'run.started', 'run.exited', 'task.succeeded'])
  assertSeqsContiguous(h)
})

test('an exit that decide cannot handle is still logged, in a minimal form: the run ends and the task fails', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  const { dispatcher } = h.supervisor
  await dispatcher.dispatch({ type: 'add', now: h.clock.now(), spec: h.spec({ name: 'cron', retries: 3 }) })
  await dispatcher.serial(() => dispatcher.handleAll([{ type: 'started', now: h.clock.now(), name: 'cron', pid: 777 }]))
  // The boundary and the core's clamping leave no known input that makes decide throw; a poisoned
  // setting stands for the next unknown one: planning the retry reads it and throws.
  Object.defineProperty(dispatcher.state.config, 'backoff', { get: () => { throw new RangeError('Invalid time value') } })
  const exited: Action = {
    type: 'exited', now: h.clock.now() + 1000, name: 'cron', pid: 777, code: 1, signal: null, cause: null, jitter: 0,
  }
  await dispatcher.serial(() => dispatcher.handleAll([exited]))
  const [logged] = h.events('run.exited', 'cron')
  assert.equal(logged?.pid, 777)
  assert.equal(logged?.code, 1)
  assert.match(logged?.error ?? '', /could not be decided/)
  assert.equal(h.events('task.failed', 'cron').length, 1)
  assert.equal(h.task('cron').pid, null)
  assert.equal(h.task('cron').state, 'failed')
  assert.equal(h.supervisor.state.running.size, 0)
})

test('a request whose write fails is refused as internal, naming the store, and changes nothing', async (t) => {
  const store = new FailingStore()
  const h = await makeSupervisor({ store })
  t.after(h.close)
  await h.add({ name: 'kept', at: '+1h' })
  const before = h.store.events.length
  store.failing = true
  await assert.rejects(h.supervisor.request({ type: 'add', now: h.clock.now(), spec: h.spec({ name: 'new' }) }), isStoreError)
  await assert.rejects(h.supervisor.request({ type: 'run', now: h.clock.now(), name: 'kept' }), isStoreError)
  assert.equal(h.supervisor.state.tasks.has('new'), false)
  assert.equal(h.task('kept').state, 'scheduled')
  assert.equal(h.store.events.length, before)
  assert.equal(h.supervisor.degraded?.since, new Date(h.clock.now()).toISOString())
  store.failing = false
  await h.supervisor.request({ type: 'add', now: h.clock.now(), spec: h.spec({ name: 'new', at: '+1h' }) })
  assert.equal(h.supervisor.degraded, null)
  assert.equal(h.task('new').state, 'scheduled')
  assertSeqsContiguous(h)
})

test('stopAll while an exit waits for the store: the pid is not signalled, the stop ends once the exit lands', async (t) => {
  const store = new FailingStore()
  const h = await makeSupervisor({ store })
  t.after(h.close)
  await h.add({ name: 'svc' })
  const [run] = h.spawner.spawnsOf('svc')
  assert.ok(run !== undefined)
  store.failing = true
  h.spawner.exit(run.pid, 1)
  const afterExit = h.spawner.signals.length
  await waitFor(() => h.supervisor.degraded, 'degraded')
  let stopped = false
  const stopping = h.supervisor.stopAll().then(() => (stopped = true))
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal(stopped, false, 'the stop waits for the exit to be logged')
  assert.deepEqual(h.spawner.signals.slice(afterExit), [])
  store.failing = false
  await stopping
  assert.equal(h.events('run.exited', 'svc').length, 1)
  assert.equal(h.task('svc').pid, null)
  assert.deepEqual(h.spawner.signals.slice(afterExit), [])
})

test('a clock write that fails is tried again a second later, not every tick, and the tick still enforces timeouts', async (t) => {
  const store = new FailingStore()
  const h = await makeSupervisor({ store })
  t.after(h.close)
  await h.add({ name: 'later', at: '+10s' })
  await h.add({ name: 'slow', timeout: '5s', retries: 0 })
  const [run] = h.spawner.spawnsOf('slow')
  assert.ok(run !== undefined)
  // It outlives its SIGTERM, so no exit waits for the store and only the gate holds the clock back.
  h.spawner.ignoreTerm = true
  store.failing = true
  h.clock.advance(10_000)
  const clockTries = (): number => store.attempts.filter((a) => !a.ok && a.events.some((e) => e.type === 'task.due')).length
  for (let i = 0; i < 5; i += 1) await h.supervisor.pump()
  assert.equal(clockTries(), 1)
  assert.ok(h.supervisor.degraded !== null)
  assert.deepEqual(h.spawner.signalsTo(run.pid), ['SIGTERM'], 'the overdue run is still ended')
  h.clock.advance(1000)
  await h.supervisor.pump()
  assert.equal(clockTries(), 2)
  assert.equal(h.supervisor.unrecorded, 0)
  store.failing = false
  h.clock.advance(1000)
  await h.supervisor.pump()
  await waitFor(() => h.events('run.exited', 'slow').length === 1, 'the timed-out exit to land')
  await h.tick()
  assert.equal(h.supervisor.degraded, null)
  assert.equal(h.task('later').state !== 'scheduled', true, 'the due task was logged as due')
  assertSeqsContiguous(h)
})
