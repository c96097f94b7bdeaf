// What follows a run, on the fake clock: retries with growing backoff, services restarting, cron slots.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { makeSupervisor, T0, type Harness } from '../helpers/fakes.js'

/** End the live run of `name` with exit code 1; the task.retrying it led to, and its wait from now. */
async function failAndRetry(h: Harness, name: string, index: number): Promise<{ at: number; wait: number; attempt: number }> {
  h.spawner.exit(name, 1)
  await h.settle()
  const retrying = h.events('task.retrying', name)[index]
  assert.ok(retrying !== undefined, `retry #${index + 1} of ${name} is scheduled`)
  const at = Date.parse(retrying.at)
  return { at, wait: at - h.clock.now(), attempt: retrying.attempt }
}

test('a failing task is retried with growing waits, never before its backoff ends, then failed', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  await h.add({ name: 'flaky', retries: 3 })
  const waits: number[] = []
  for (let retry = 1; retry <= 3; retry += 1) {
    const { at, wait, attempt } = await failAndRetry(h, 'flaky', retry - 1)
    waits.push(wait)
    assert.equal(attempt, retry + 1)
    assert.equal(h.task('flaky').state, 'retrying')
    await h.tick(at - h.clock.now() - 1)
    assert.equal(h.spawner.spawnsOf('flaky').length, retry, `retry ${retry} not started 1 ms early`)
    await h.tick(1)
    assert.equal(h.spawner.spawnsOf('flaky').length, retry + 1, `retry ${retry} started at its time`)
  }
  // Default backoff: 1 s, factor 2, jitter at most ±20 %.
  for (const [i, wait] of waits.entries()) {
    const nominal = 1000 * 2 ** i
    assert.ok(wait >= nominal * 0.8 && wait <= nominal * 1.2, `wait ${i + 1} = ${wait} ms, expected ${nominal} ±20 %`)
    if (i > 0) assert.ok(wait > (waits[i - 1] as number), `waits grow: ${waits.join(', ')}`)
  }
  assert.deepEqual(h.events('run.started', 'flaky').map((e) => e.attempt), [1, 2, 3, 4])

  h.spawner.exit('flaky', 1)
  await h.settle()
  assert.equal(h.events('task.failed', 'flaky').length, 1)
  assert.equal(h.events('task.retrying', 'flaky').length, 3)
  assert.equal(h.task('flaky').state, 'failed')
  await h.tick(60 * 60_000)
  assert.equal(h.spawner.spawnsOf('flaky').length, 4, 'no run after the last retry')
})

test('a task with restart never is not retried after a failure', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  await h.add({ name: 'once', retries: 5, restart: 'never' })
  h.spawner.exit('once', 2)
  await h.settle()
  assert.equal(h.task('once').state, 'failed')
  assert.equal(h.task('once').lastExitCode, 2)
  await h.tick(60 * 60_000)
  assert.equal(h.spawner.spawnsOf('once').length, 1)
})

test('a spawn that fails is recorded as a failed run with its error and retried', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  h.spawner.failNext = 'spawn /nowhere ENOENT'
  await h.add({ name: 'missing', retries: 1 })
  const [exited] = h.events('run.exited', 'missing')
  assert.equal(exited?.outcome, 'failed')
  assert.equal(exited?.error, 'spawn /nowhere ENOENT')
  assert.equal(h.task('missing').state, 'retrying')
  await h.tick(1_200)
  assert.equal(h.spawner.spawnsOf('missing').length, 1, 'the retry spawns once the backoff ends')
})

test('a service restarts at once after a stable run, and after a backoff when it exits quickly', async (t) => {
  const h = await makeSupervisor({ core: { stableMs: 10_000 } })
  t.after(h.close)
  await h.add({ name: 'svc', restart: 'always', retries: 0 })
  await h.tick(10_000)
  h.spawner.exit('svc', 0)
  await h.settle()
  assert.equal(h.spawner.spawnsOf('svc').length, 2, 'restarted without the clock moving')
  assert.equal(h.spawner.alive().length, 1)
  const first = h.events('task.retrying', 'svc')[0]
  assert.equal(first?.at, new Date(h.clock.now()).toISOString())

  h.spawner.exit('svc', 1)
  await h.settle()
  const second = h.events('task.retrying', 'svc')[1]
  assert.ok(second !== undefined)
  const at = Date.parse(second.at)
  assert.ok(at - h.clock.now() >= 800, 'a quick exit waits a backoff step')
  assert.equal(h.spawner.spawnsOf('svc').length, 2)
  await h.tick(at - h.clock.now())
  assert.equal(h.spawner.spawnsOf('svc').length, 3)
  assert.equal(h.events('task.failed', 'svc').length, 0, 'a service is never failed for running out of retries')
})

test('a cron task is scheduled for its next slot after each run, and starts exactly then', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  const spec = await h.add({ name: 'every5s', cron: '*/5 * * * * *', retries: 0 })
  assert.equal(spec.at, T0, 'T0 is itself a slot')
  assert.equal(h.spawner.spawnsOf('every5s').length, 1)
  await h.tick(1_000)
  h.spawner.exit('every5s', 0)
  await h.settle()
  assert.deepEqual(h.events('task.scheduled', 'every5s').map((e) => [e.at, e.reason]), [[new Date(T0 + 5_000).toISOString(), 'cron']])
  assert.equal(h.task('every5s').state, 'scheduled')

  await h.tick(3_999)
  assert.equal(h.spawner.spawnsOf('every5s').length, 1)
  await h.tick(1)
  assert.equal(h.spawner.spawnsOf('every5s').length, 2)

  h.spawner.exit('every5s', 1)
  await h.settle()
  assert.equal(h.events('task.failed', 'every5s').length, 1)
  assert.equal(h.events('task.scheduled', 'every5s')[1]?.at, new Date(T0 + 10_000).toISOString(), 'a failed slot still schedules the next')
  await h.tick(5_000)
  assert.equal(h.spawner.spawnsOf('every5s').length, 3)
})

test('cron slots missed while the daemon was away run once, not once per slot', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  await h.add({ name: 'every5s', cron: '*/5 * * * * *', retries: 0, at: '+1s' })
  assert.equal(h.spawner.spawnsOf('every5s').length, 0, 'its first slot is still ahead')
  // Nothing ticks for a minute (the daemon was down): twelve slots go by.
  h.clock.advance(60_000)
  await h.tick(0)
  assert.equal(h.spawner.spawnsOf('every5s').length, 1, 'one run for all the missed slots')
  h.spawner.exit('every5s', 0)
  await h.settle()
  const [next] = h.events('task.scheduled', 'every5s').map((e) => Date.parse(e.at))
  assert.equal(next, T0 + 65_000, 'the next slot after now, not a missed one')
  await h.tick(4_999)
  assert.equal(h.spawner.spawnsOf('every5s').length, 1)
  await h.tick(1)
  assert.equal(h.spawner.spawnsOf('every5s').length, 2)
})
