// Ending runs with fake ports: memory limits, timeouts with SIGKILL escalation, stop, and stopAll at shutdown.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { makeSupervisor, MB, type FakeRun, type Harness } from '../helpers/fakes.js'

function only<T>(items: readonly T[], what: string): T {
  assert.equal(items.length, 1, `expected exactly one ${what}`)
  return items[0] as T
}

async function startOne(h: Harness, input: Record<string, unknown>): Promise<FakeRun> {
  await h.add(input)
  return only(h.spawner.spawnsOf(String(input.name)), `run of ${String(input.name)}`)
}

test('a run whose group memory exceeds its memory limit is SIGTERMed and recorded as killed', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  const run = await startOne(h, { name: 'hog', memory: '100M', retries: 0 })
  h.monitor.memory.set(run.pid, 100 * MB)
  await h.tick(250)
  assert.deepEqual(h.spawner.signalsTo(run.pid), [], 'at the limit is not over it')
  assert.equal(run.alive, true)

  h.monitor.memory.set(run.pid, 150 * MB)
  await h.tick(250)
  assert.deepEqual(h.spawner.signalsTo(run.pid), ['SIGTERM'])
  const exited = only(h.events('run.exited', 'hog'), 'run.exited')
  assert.equal(exited.outcome, 'killed')
  assert.equal(exited.cause, 'memory limit 100M exceeded (peak 150M)')
  assert.equal(exited.signal, 'SIGTERM')
  assert.equal(exited.peakMemory, 150 * MB)
  assert.equal(h.task('hog').state, 'failed')
})

test('a run without a memory limit is never ended for its memory', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  const run = await startOne(h, { name: 'free' })
  h.monitor.memory.set(run.pid, 4096 * MB)
  await h.tick(250)
  await h.tick(250)
  assert.deepEqual(h.spawner.signalsTo(run.pid), [])
  assert.equal(h.supervisor.usage.get('free')?.peak, 4096 * MB)
})

test('after timeoutMs the group gets SIGTERM, then SIGKILL killTimeoutMs later if it ignores it; outcome timeout', async (t) => {
  const h = await makeSupervisor({ killTimeoutMs: 2000 })
  t.after(h.close)
  h.spawner.ignoreTerm = true
  const run = await startOne(h, { name: 'slow', timeout: '5s', retries: 0 })
  await h.tick(4_999)
  assert.deepEqual(h.spawner.signalsTo(run.pid), [])
  await h.tick(1)
  assert.deepEqual(h.spawner.signalsTo(run.pid), ['SIGTERM'])
  await h.tick(1_999)
  assert.deepEqual(h.spawner.signalsTo(run.pid), ['SIGTERM'], 'no SIGKILL before the kill timeout')
  assert.equal(run.alive, true)
  assert.equal(h.events('run.exited', 'slow').length, 0)

  await h.tick(1)
  assert.deepEqual(h.spawner.signalsTo(run.pid), ['SIGTERM', 'SIGKILL'])
  const exited = only(h.events('run.exited', 'slow'), 'run.exited')
  assert.equal(exited.outcome, 'timeout')
  assert.equal(exited.signal, 'SIGKILL')
  assert.equal(exited.durationMs, 7_000)
  assert.equal(h.task('slow').state, 'failed')
})

test('a timed-out run that honours SIGTERM gets no SIGKILL and is still recorded as timeout', async (t) => {
  const h = await makeSupervisor({ killTimeoutMs: 2000 })
  t.after(h.close)
  const run = await startOne(h, { name: 'polite', timeout: '1s', retries: 0 })
  await h.tick(1_000)
  await h.tick(5_000)
  assert.deepEqual(h.spawner.signalsTo(run.pid), ['SIGTERM'])
  assert.equal(only(h.events('run.exited', 'polite'), 'run.exited').outcome, 'timeout')
})

test('stop: the run is SIGTERMed, recorded as killed, the task stopped, and no retry follows', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  const run = await startOne(h, { name: 'job', retries: 3 })
  const decision = await h.supervisor.request({ type: 'stop', now: h.clock.now(), name: 'job' })
  assert.deepEqual(decision.effects, [{ type: 'signal', task: 'job', pid: run.pid, signal: 'SIGTERM' }])
  await h.settle()
  assert.deepEqual(h.spawner.signalsTo(run.pid), ['SIGTERM'])
  assert.equal(only(h.events('run.exited', 'job'), 'run.exited').outcome, 'stopped', 'a user\'s stop is not a failure')
  assert.equal(only(h.events('run.exited', 'job'), 'run.exited').cause, 'stopped by a user')
  assert.equal(h.events('task.stopped', 'job').length, 1)
  assert.equal(h.events('task.retrying', 'job').length, 0)
  assert.equal(h.task('job').state, 'stopped')
  await h.tick(60 * 60_000)
  assert.equal(h.spawner.spawnsOf('job').length, 1, 'a stopped task is not started again')
})

test('stop of a run that ignores SIGTERM ends it with SIGKILL after the kill timeout, still stopped', async (t) => {
  const h = await makeSupervisor({ killTimeoutMs: 3000 })
  t.after(h.close)
  h.spawner.ignoreTerm = true
  const run = await startOne(h, { name: 'stubborn', retries: 3 })
  await h.supervisor.request({ type: 'stop', now: h.clock.now(), name: 'stubborn' })
  await h.tick(2_999)
  assert.equal(run.alive, true)
  await h.tick(1)
  assert.deepEqual(h.spawner.signalsTo(run.pid), ['SIGTERM', 'SIGKILL'])
  assert.equal(only(h.events('run.exited', 'stubborn'), 'run.exited').outcome, 'stopped')
  assert.equal(h.task('stubborn').state, 'stopped')
})

test('stopAll ends every run as interrupted, queues it again, and starts nothing while stopping', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  const a = await startOne(h, { name: 'a' })
  const b = await startOne(h, { name: 'b' })
  await h.add({ name: 'later', at: '+1h' })
  const stopped = h.supervisor.stopAll().then(() => 'stopped' as const)
  const verdict = await Promise.race([stopped, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 2000))])
  if (verdict === 'hung') {
    // Free stopAll's loop so the test process can end, then fail with what happened.
    for (const run of h.spawner.alive()) h.spawner.exit(run.pid, 0)
    await stopped
  }
  // A tick the exits kicked may still be pending: it must not start anything either.
  await h.settle()
  assert.deepEqual(h.spawner.signalsTo(a.pid), ['SIGTERM'])
  assert.deepEqual(h.spawner.signalsTo(b.pid), ['SIGTERM'])
  for (const name of ['a', 'b']) {
    const exited = h.events('run.exited', name)
    assert.equal(exited[0]?.outcome, 'interrupted', `${name} first run outcome`)
    assert.deepEqual(h.events('task.due', name).map((e) => e.reason), ['date', 'interrupted'])
  }
  assert.deepEqual(h.spawner.runs.map((r) => r.spec.name), ['a', 'b'], 'no run started during shutdown')
  assert.equal(verdict, 'stopped')
  assert.equal(h.task('a').state, 'ready')
  assert.equal(h.task('b').state, 'ready')
  assert.equal(h.task('later').state, 'scheduled')
})
