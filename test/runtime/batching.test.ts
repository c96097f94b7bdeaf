// Starts and exits are logged in batches: a run that ends before its start is logged, and bursts of
// many, still leave every task where its runs put it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync } from 'node:fs'
import { appendFile } from 'node:fs/promises'
import { logPath } from '../../src/runtime/log-files.js'
import { makeSupervisor } from '../helpers/fakes.js'

test('a run that ends in the turn it starts is logged as started, then exited, then succeeded', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  h.spawner.exitAtOnce = 0
  await h.add({ name: 'quick' })
  await h.settle()
  const types = h.store.events.filter((e) => e.task === 'quick').map((e) => e.type)
  assert.deepEqual(types.slice(types.indexOf('run.started')), ['run.started', 'run.exited', 'task.succeeded'])
  const [started] = h.events('run.started', 'quick')
  const [exited] = h.events('run.exited', 'quick')
  assert.equal(exited?.pid, started?.pid)
  assert.equal(h.task('quick').state, 'succeeded')
  assert.equal(h.task('quick').pid, null)
  assert.equal(h.supervisor.state.running.size, 0)
})

test('a burst of short runs through few slots: each task runs once, nothing stays running', async (t) => {
  const h = await makeSupervisor({ limits: { maxConcurrent: 4 } })
  t.after(h.close)
  h.spawner.exitAtOnce = 0
  for (let i = 0; i < 20; i += 1) await h.add({ name: `t${i}` })
  await h.settle()
  for (let i = 0; i < 20; i += 1) {
    assert.equal(h.task(`t${i}`).state, 'succeeded', `t${i}`)
    assert.equal(h.events('run.started', `t${i}`).length, 1)
    assert.equal(h.events('run.exited', `t${i}`).length, 1)
  }
  assert.equal(h.supervisor.state.running.size, 0)
  assert.ok(h.spawner.maxAlive <= 4)
})

test('failures that end at once are retried and fail with the right counts', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  h.spawner.exitAtOnce = 3
  await h.add({ name: 'bad', retries: 1 })
  await h.settle()
  await h.tick(1500)
  await h.settle()
  assert.equal(h.events('run.exited', 'bad').filter((e) => e.outcome === 'failed').length, 2)
  assert.equal(h.task('bad').state, 'failed')
})

test('a run that fails in the turn it starts is fingerprinted by its own stderr, not the earlier runs\'', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  const errLog = logPath(h.dir, 'noisy', 'err')
  await appendFile(errLog, 'old line from an earlier run\n')
  h.spawner.onSpawn = (run) => appendFileSync(logPath(h.dir, run.spec.name, 'err'), `boom ${run.pid}\n`)
  h.spawner.exitAtOnce = 2
  await h.add({ name: 'noisy', retries: 0 })
  await h.settle()
  const [exited] = h.events('run.exited', 'noisy')
  assert.equal(exited?.stderr, `boom ${exited?.pid}`)
})
