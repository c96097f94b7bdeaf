// Admission through plan(): concurrency, CPU and memory limits, the `blocked` report and waitingReason.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatSize, memoryNeed, waitingReason, type Limits, type Resources } from '../../src/core/admission.js'
import { CoreDriver, NO_LIMITS, T0, UNKNOWN_RESOURCES } from '../helpers/core-driver.js'

const MiB = 1024 * 1024
const limits = (fields: Partial<Limits>): Limits => ({ ...NO_LIMITS, ...fields })
const resources = (fields: Partial<Resources>): Resources => ({ ...UNKNOWN_RESOURCES, ...fields })

/** Three due tasks a, b, c (in that start order) and `running` more already running. */
function queue(running = 0): CoreDriver {
  const d = new CoreDriver()
  for (let i = 0; i < running; i += 1) d.add(`r${i}`, { priority: 'high' })
  d.startDue()
  for (const name of ['a', 'b', 'c']) d.add(name)
  return d
}

const planCases: Array<{ label: string; running: number; limits: Limits; resources: Resources; starts: string[]; blocked: string | null }> = [
  { label: 'no limits start all', running: 0, limits: NO_LIMITS, resources: UNKNOWN_RESOURCES, starts: ['a', 'b', 'c'], blocked: null },
  { label: 'maxConcurrent caps the plan', running: 0, limits: limits({ maxConcurrent: 2 }), resources: UNKNOWN_RESOURCES, starts: ['a', 'b'], blocked: '2/2 running' },
  { label: 'maxConcurrent counts runs already going', running: 1, limits: limits({ maxConcurrent: 2 }), resources: UNKNOWN_RESOURCES, starts: ['a'], blocked: '2/2 running' },
  { label: 'full: nothing starts', running: 3, limits: limits({ maxConcurrent: 3 }), resources: UNKNOWN_RESOURCES, starts: [], blocked: '3/3 running' },
  { label: 'cpu at the limit holds back', running: 0, limits: limits({ maxCpu: 85 }), resources: resources({ cpuPercent: 85 }), starts: [], blocked: 'cpu 85% >= 85%' },
  { label: 'cpu above the limit, rounded', running: 0, limits: limits({ maxCpu: 85 }), resources: resources({ cpuPercent: 92.6 }), starts: [], blocked: 'cpu 93% >= 85%' },
  { label: 'cpu below the limit', running: 0, limits: limits({ maxCpu: 85 }), resources: resources({ cpuPercent: 84.9 }), starts: ['a', 'b', 'c'], blocked: null },
  { label: 'maxCpu 100 never holds back', running: 0, limits: limits({ maxCpu: 100 }), resources: resources({ cpuPercent: 100 }), starts: ['a', 'b', 'c'], blocked: null },
  { label: 'unknown cpu holds nothing back', running: 0, limits: limits({ maxCpu: 10 }), resources: UNKNOWN_RESOURCES, starts: ['a', 'b', 'c'], blocked: null },
  {
    label: 'memory: each start reserves its default need',
    running: 0, limits: limits({ minFreeBytes: 100 * MiB, defaultNeedBytes: 200 * MiB }), resources: resources({ freeBytes: 600 * MiB }),
    starts: ['a', 'b'], blocked: 'memory: needs 200M, 0 would remain',
  },
  {
    label: 'memory: a remainder of exactly minFree is allowed',
    running: 0, limits: limits({ minFreeBytes: 100 * MiB, defaultNeedBytes: 200 * MiB }), resources: resources({ freeBytes: 500 * MiB }),
    starts: ['a', 'b'], blocked: 'memory: needs 200M, 0 would remain',
  },
  {
    label: 'memory: a remainder below minFree is held back and reported',
    running: 0, limits: limits({ minFreeBytes: 100 * MiB, defaultNeedBytes: 200 * MiB }), resources: resources({ freeBytes: 650 * MiB }),
    starts: ['a', 'b'], blocked: 'memory: needs 200M, 50.0M would remain',
  },
  { label: 'unknown free memory holds nothing back', running: 0, limits: limits({ minFreeBytes: 1e15 }), resources: UNKNOWN_RESOURCES, starts: ['a', 'b', 'c'], blocked: null },
]

for (const c of planCases) {
  test(`plan: ${c.label}`, () => {
    const d = queue(c.running)
    const planned = d.plan(c.resources, c.limits)
    assert.deepEqual(planned.effects, c.starts.map((task) => ({ type: 'spawn', task })))
    const held = ['a', 'b', 'c'][c.starts.length]
    assert.deepEqual(planned.blocked, c.blocked === null ? null : { task: held, reason: c.blocked })
  })
}

test('memory need: declared memory, else the observed peak, else the default', () => {
  const d = new CoreDriver()
  d.add('declared', { memoryBytes: 300 * MiB })
  d.add('observed')
  d.add('unknown')
  d.task('declared').peakMemory = 10 * MiB
  d.task('observed').peakMemory = 50 * MiB
  const lim = limits({ defaultNeedBytes: 7 * MiB })
  assert.deepEqual(['declared', 'observed', 'unknown'].map((n) => memoryNeed(d.task(n), lim)), [300 * MiB, 50 * MiB, 7 * MiB])
  const planned = d.plan(resources({ freeBytes: 390 * MiB }), limits({ minFreeBytes: 50 * MiB, defaultNeedBytes: 7 * MiB }))
  assert.deepEqual(planned.effects.map((e) => e.task), ['declared'])
  assert.deepEqual(planned.blocked, { task: 'observed', reason: 'memory: needs 50.0M, 40.0M would remain' })
})

test('plan: a blocked task holds back every later one, even ones that would fit', () => {
  const d = new CoreDriver()
  d.add('big', { priority: 'high', memoryBytes: 900 * MiB })
  d.add('small', { memoryBytes: 1 * MiB })
  const planned = d.plan(resources({ freeBytes: 512 * MiB }), NO_LIMITS)
  assert.deepEqual(planned.effects, [])
  assert.equal(planned.blocked?.task, 'big')
  assert.match(planned.blocked?.reason ?? '', /^memory: needs 900M, 0 would remain$/)
})

test('plan: tasks not yet due are never planned', () => {
  const d = new CoreDriver()
  d.add('later', { at: T0 + 1000 })
  assert.deepEqual(d.plan(), { effects: [], blocked: null })
})

test('waitingReason: null unless ready; own block; behind the blocked task; else starting', () => {
  const d = new CoreDriver()
  d.add('run', { priority: 'high' })
  d.startDue()
  d.add('big', { memoryBytes: 900 * MiB })
  d.add('small', { memoryBytes: 1 * MiB })
  d.add('later', { at: T0 + 1000 })
  const mem = resources({ freeBytes: 512 * MiB })
  const blocked = d.plan(mem, NO_LIMITS).blocked
  const why = (name: string, lim: Limits, res: Resources = mem, b = blocked): string | null =>
    waitingReason(d.state, d.task(name), res, lim, b)
  assert.equal(why('run', NO_LIMITS), null)
  assert.equal(why('later', NO_LIMITS), null)
  assert.equal(why('big', NO_LIMITS), 'memory: needs 900M, 0 would remain')
  assert.equal(why('small', NO_LIMITS), 'behind "big" (memory: needs 900M, 0 would remain)')
  assert.equal(why('small', limits({ maxConcurrent: 1 })), '1/1 running')
  assert.equal(why('small', limits({ maxCpu: 50 }), resources({ cpuPercent: 70 })), 'cpu 70% >= 50%')
  assert.equal(why('small', NO_LIMITS, UNKNOWN_RESOURCES, null), 'starting')
})

test('formatSize: bytes, then binary units with one decimal below 100', () => {
  assert.deepEqual(
    [0, 1023, 1024, 1536, 100 * 1024, 512 * MiB, 1.5 * 1024 * MiB].map(formatSize),
    ['0', '1023', '1.0K', '1.5K', '100K', '512M', '1.5G'],
  )
})

test('plan: a task that can never fit (its need beyond the machine less the floor) is skipped, not a block: the ones behind it start', () => {
  const d = new CoreDriver()
  d.add('huge', { priority: 'high', memoryBytes: 950 * MiB })
  d.add('small', { memoryBytes: 1 * MiB })
  const machine = limits({ totalBytes: 1024 * MiB, minFreeBytes: 100 * MiB })
  const planned = d.plan(resources({ freeBytes: 1000 * MiB }), machine)
  assert.deepEqual(planned.effects.map((e) => e.task), ['small'])
  assert.equal(planned.blocked, null)
  assert.match(waitingReason(d.state, d.task('huge'), resources({ freeBytes: 1000 * MiB }), machine, planned.blocked) ?? '',
    /^memory: needs 950M, more than this machine can ever free \(924M\)/)
  // One that merely waits for memory to free up still holds the queue, as before.
  const waiting = new CoreDriver()
  waiting.add('big', { priority: 'high', memoryBytes: 900 * MiB })
  waiting.add('small', { memoryBytes: 1 * MiB })
  assert.equal(waiting.plan(resources({ freeBytes: 512 * MiB }), machine).blocked?.task, 'big')
})
