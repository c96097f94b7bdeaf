// Admission through the Supervisor with fake ports: slots, CPU, memory (declared or observed peak), due on add.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { makeSupervisor, MB, T0 } from '../helpers/fakes.js'

const names = (runs: readonly { spec: { name: string } }[]): string[] => runs.map((r) => r.spec.name).sort()

test('a task due when added starts on the kick alone, without the clock moving', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  await h.supervisor.request({ type: 'add', now: h.clock.now(), spec: h.spec({ name: 'now' }) })
  await h.settle()
  assert.equal(h.clock.now(), T0)
  assert.deepEqual(names(h.spawner.alive()), ['now'])
  const [started] = h.events('run.started', 'now')
  assert.equal(started?.pid, h.spawner.runs[0]?.pid)
  assert.equal(started?.time, new Date(T0).toISOString())
  assert.equal(h.task('now').state, 'running')
  assert.equal(h.waitingReason('now'), null)
})

test('a task dated ahead starts on the first tick at its time, not one millisecond before', async (t) => {
  const h = await makeSupervisor()
  t.after(h.close)
  await h.add({ name: 'later', at: '+10s' })
  await h.tick(9_999)
  assert.equal(h.spawner.runs.length, 0)
  assert.equal(h.task('later').state, 'scheduled')
  await h.tick(1)
  assert.deepEqual(names(h.spawner.alive()), ['later'])
  assert.equal(h.events('task.due', 'later')[0]?.time, new Date(T0 + 10_000).toISOString())
})

test('never more than maxConcurrent run at once; the others wait with "N/N running"', async (t) => {
  const h = await makeSupervisor({ limits: { maxConcurrent: 2 } })
  t.after(h.close)
  for (const name of ['a', 'b', 'c', 'd']) await h.add({ name })
  assert.deepEqual(names(h.spawner.alive()), ['a', 'b'])
  assert.equal(h.waitingReason('c'), '2/2 running')
  assert.equal(h.waitingReason('d'), '2/2 running')
  assert.equal(h.task('c').state, 'ready')
  await h.tick(60_000)
  assert.equal(h.spawner.runs.length, 2, 'time alone frees no slot')

  h.spawner.exit('a', 0)
  await h.settle()
  assert.deepEqual(names(h.spawner.alive()), ['b', 'c'])
  assert.equal(h.waitingReason('d'), '2/2 running')

  h.spawner.exit('b', 0)
  h.spawner.exit('c', 1)
  await h.settle()
  assert.ok(h.spawner.spawnsOf('d').length === 1, 'd starts once a slot frees')
  assert.equal(h.spawner.maxAlive, 2)
})

test('nothing starts while CPU load is at or above maxCpu; the task says why', async (t) => {
  const h = await makeSupervisor({ limits: { maxCpu: 85 } })
  t.after(h.close)
  h.probe.cpuPercent = 93
  await h.supervisor.sampleNow()
  await h.add({ name: 'busy' })
  await h.tick(5_000)
  assert.equal(h.spawner.runs.length, 0)
  assert.equal(h.waitingReason('busy'), 'cpu 93% >= 85%')
  assert.deepEqual(h.supervisor.blocked, { task: 'busy', reason: 'cpu 93% >= 85%' })

  h.probe.cpuPercent = 85
  await h.supervisor.sampleNow()
  await h.tick(0)
  assert.equal(h.spawner.runs.length, 0, 'exactly maxCpu still holds back')
  assert.equal(h.waitingReason('busy'), 'cpu 85% >= 85%')

  h.probe.cpuPercent = 84
  await h.supervisor.sampleNow()
  await h.tick(0)
  assert.deepEqual(names(h.spawner.alive()), ['busy'])
  assert.equal(h.supervisor.blocked, null)
})

test('maxCpu 100 never holds a task back, even at 100% load', async (t) => {
  const h = await makeSupervisor({ limits: { maxCpu: 100 } })
  t.after(h.close)
  h.probe.cpuPercent = 100
  await h.supervisor.sampleNow()
  await h.add({ name: 'any' })
  assert.deepEqual(names(h.spawner.alive()), ['any'])
})

test('a task whose declared memory would leave less than minFreeMemory waits, then starts when memory frees', async (t) => {
  const h = await makeSupervisor({ limits: { minFreeBytes: 256 * MB } })
  t.after(h.close)
  h.probe.freeBytes = 1024 * MB
  await h.supervisor.sampleNow()
  await h.add({ name: 'big', memory: '900M' })
  await h.tick(500)
  assert.equal(h.spawner.runs.length, 0)
  assert.equal(h.waitingReason('big'), 'memory: needs 900M, 124M would remain')

  await h.add({ name: 'small', memory: '100M' })
  assert.equal(h.spawner.runs.length, 0, 'a later task does not overtake the blocked one')
  assert.equal(h.waitingReason('small'), 'behind "big" (memory: needs 900M, 124M would remain)')

  h.probe.freeBytes = 2048 * MB
  await h.supervisor.sampleNow()
  await h.tick(0)
  assert.deepEqual(names(h.spawner.alive()), ['big', 'small'])
})

test('memory promised to runs started since the last sample holds back later ticks until the next sample', async (t) => {
  const h = await makeSupervisor({ limits: { minFreeBytes: 256 * MB } })
  t.after(h.close)
  h.probe.freeBytes = 1024 * MB
  await h.tick(0)
  for (const name of ['r1', 'r2', 'r3']) await h.add({ name, memory: '300M' })
  assert.deepEqual(names(h.spawner.alive()), ['r1', 'r2'])
  assert.deepEqual(h.supervisor.blocked, { task: 'r3', reason: 'memory: needs 300M, 124M would remain' })
  assert.equal(h.waitingReason('r3'), 'memory: needs 300M, 124M would remain', 'the view shows why it is held back')
  await h.tick(999)
  assert.equal(h.spawner.spawnsOf('r3').length, 0)
  // The sample (still 1024M free here) sees the runs themselves, so the promise is dropped.
  await h.tick(1)
  await h.tick(0)
  assert.equal(h.spawner.spawnsOf('r3').length, 1)
})

test('within one tick the planner counts the memory of what it starts', async (t) => {
  const h = await makeSupervisor({ limits: { minFreeBytes: 256 * MB } })
  t.after(h.close)
  h.probe.freeBytes = 1024 * MB
  await h.supervisor.sampleNow()
  const specs = ['m1', 'm2', 'm3'].map((name) => h.spec({ name, memory: '300M' }))
  await h.supervisor.request({ type: 'apply', now: h.clock.now(), specs, prune: false })
  await h.settle()
  assert.deepEqual(names(h.spawner.alive()), ['m1', 'm2'])
  assert.deepEqual(h.supervisor.blocked, { task: 'm3', reason: 'memory: needs 300M, 124M would remain' })
})

test('the peak observed in a past run becomes the memory estimate of a task that declares none', async (t) => {
  const h = await makeSupervisor({ limits: { minFreeBytes: 256 * MB, defaultNeedBytes: 64 * MB } })
  t.after(h.close)
  h.probe.freeBytes = 1024 * MB
  await h.supervisor.sampleNow()
  await h.add({ name: 'grows' })
  const run = h.spawner.runs[0]
  assert.ok(run !== undefined, 'with the 64M default need it starts')
  h.monitor.memory.set(run.pid, 800 * MB)
  await h.tick(250)
  assert.equal(h.supervisor.usage.get('grows')?.peak, 800 * MB)
  h.monitor.memory.set(run.pid, 300 * MB)
  await h.tick(250)
  assert.equal(h.supervisor.usage.get('grows')?.peak, 800 * MB, 'the peak is the highest sample, not the last')

  h.spawner.exit('grows', 0)
  await h.settle()
  assert.equal(h.events('run.exited', 'grows')[0]?.peakMemory, 800 * MB)
  assert.equal(h.task('grows').peakMemory, 800 * MB)

  await h.supervisor.sampleNow()
  await h.supervisor.request({ type: 'run', now: h.clock.now(), name: 'grows' })
  await h.settle()
  assert.equal(h.spawner.runs.length, 1, 'the observed 800M does not fit')
  assert.equal(h.waitingReason('grows'), 'memory: needs 800M, 224M would remain')
})
