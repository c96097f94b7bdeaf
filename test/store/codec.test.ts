// Stored text of records and events (schema 3): defaults left out, everything else read back as written.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { newRecord, type TaskRecord } from '../../src/core/task-record.js'
import { PRIORITIES, RESTARTS, type TaskEvent, type TaskSpec } from '../../src/core/types.js'
import { eventText, recordFrom, recordText, specText } from '../../src/store/codec.js'
import { SCHEMA_VERSION, upgradeEvent, upgradeTask } from '../../src/store/schema.js'
import { sampleSpec } from '../helpers/sample-records.js'

const parse = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>

/** Every field away from its default. */
const unusual: TaskSpec = {
  name: 'odd', script: '/opt/odd "quoted".sh', args: ['a', ''], at: 1_800_000_000_123, deadline: 1_800_000_900_000, onDeadline: 'kill', missed: 'skip', overlap: 'replace', preemptible: true, manual: true, after: ['a', 'b'], nodes: ['n1', 'n2'], onSuccess: ['c'], onFailure: [],
  priority: 'low', front: true, retries: 0, restart: 'always', cron: '*/5 * * * *', cronTz: 'Europe/Paris',
  backoff: { baseMs: 10, factor: 3, capMs: 1000 }, timeoutMs: 0, expectMs: 7200000, memoryBytes: 1024, cwd: '/tmp', env: { A: '1', 'B C': 'x\ny' },
  user: 'nobody', envFile: '/etc/odd app.env', digest: 'dddddddddddddddddddddd',
}

const unusualRecord: TaskRecord = {
  spec: unusual, state: 'running', priority: 'high', bumped: true, consecutiveFailures: 2, retryStep: 1, attempts: 3,
  dueAt: 1_800_000_000_999, queuedSeq: 77, lastExitCode: 0, lastOutcome: 'timeout', pid: 4242, pidStart: '12345',
  runStartedAt: 1_800_000_001_000, rearm: true, peakMemory: 0,
  stopping: { cause: 'stop', killAt: 1_800_000_002_000 },
  durations: [0, 61_000],
  missed: true,
  atRisk: true,
  slotAt: 1_800_000_060_000,
  slotQueued: 1_800_000_000_000,
  cycleSince: 1_800_000_000_017,
  lastSuccessAt: 1_800_000_000_012,
  awaiting: true,
  trigger: { task: 'backup', outcome: 'failed', exitCode: 3 },
  node: 'n2',
  claimed: true,
}

const specArb: fc.Arbitrary<TaskSpec> = fc.record({
  name: fc.string({ minLength: 1 }), script: fc.string({ minLength: 1 }), args: fc.array(fc.string(), { maxLength: 3 }),
  at: fc.integer({ min: 0, max: 4e12 }), deadline: fc.option(fc.integer({ min: 0, max: 4e12 })), onDeadline: fc.constantFrom('run', 'skip', 'kill' as const), missed: fc.constantFrom('once', 'skip' as const), overlap: fc.constantFrom('skip', 'queue', 'replace' as const), preemptible: fc.boolean(), manual: fc.boolean(), after: fc.array(fc.string()), nodes: fc.array(fc.string()), onSuccess: fc.array(fc.string()), onFailure: fc.option(fc.array(fc.string())),
  priority: fc.constantFrom(...PRIORITIES), front: fc.boolean(), retries: fc.nat(20), restart: fc.constantFrom(...RESTARTS),
  cron: fc.option(fc.string()), cronTz: fc.option(fc.string()),
  backoff: fc.option(fc.record({ baseMs: fc.nat(), factor: fc.double({ min: 1, max: 10, noNaN: true }), capMs: fc.nat() })),
  timeoutMs: fc.option(fc.nat()), expectMs: fc.option(fc.nat()), memoryBytes: fc.option(fc.nat()), cwd: fc.option(fc.string()),
  env: fc.dictionary(fc.string({ minLength: 1 }), fc.string(), { maxKeys: 3 }), user: fc.option(fc.string()), envFile: fc.option(fc.string()), digest: fc.string(),
})

const recordArb: fc.Arbitrary<TaskRecord> = fc.record({
  spec: specArb, state: fc.constantFrom('scheduled', 'ready', 'running', 'retrying', 'succeeded', 'failed', 'stopped', 'expired' as const),
  priority: fc.constantFrom(...PRIORITIES), bumped: fc.boolean(), consecutiveFailures: fc.nat(9), retryStep: fc.nat(9),
  attempts: fc.nat(9), dueAt: fc.integer({ min: 0, max: 4e12 }), queuedSeq: fc.nat(), lastExitCode: fc.option(fc.integer({ min: -1, max: 255 })),
  lastOutcome: fc.option(fc.constantFrom('succeeded', 'failed', 'timeout', 'killed', 'interrupted', 'stopped' as const)),
  pid: fc.option(fc.integer({ min: 1, max: 4_000_000 })), pidStart: fc.option(fc.string()),
  runStartedAt: fc.option(fc.integer({ min: 0, max: 4e12 })), rearm: fc.boolean(), peakMemory: fc.option(fc.nat()),
  stopping: fc.option(fc.record({ cause: fc.constantFrom('stop', 'timeout', 'memory', 'shutdown', 'remove', 'restart' as const), killAt: fc.option(fc.integer({ min: 0, max: 4e12 })) })),
  durations: fc.array(fc.nat(), { maxLength: 10 }),
  missed: fc.boolean(),
  atRisk: fc.boolean(),
  slotAt: fc.option(fc.integer({ min: 0, max: 4e12 })),
  slotQueued: fc.option(fc.integer({ min: 0, max: 4e12 })),
  cycleSince: fc.nat(),
  lastSuccessAt: fc.nat(),
  awaiting: fc.boolean(),
  trigger: fc.option(fc.record({ task: fc.string(), outcome: fc.string(), exitCode: fc.option(fc.integer()) })),
  node: fc.option(fc.string()),
  claimed: fc.boolean(),
})

describe('stored text (schema 3)', () => {
  it('a new task record keeps only what is not a default, and reads back whole', () => {
    const record = newRecord(sampleSpec('plain'), 12)
    const text = recordText(SCHEMA_VERSION, record)
    assert.deepEqual(Object.keys(parse(text)), ['v', 'spec', 'queuedSeq'])
    assert.deepEqual(Object.keys(parse(text)['spec'] as object), ['name', 'script', 'at', 'digest'])
    assert.deepEqual(upgradeTask(parse(text)).task, record)
    assert.ok(text.length < JSON.stringify(record).length / 2, `${text.length} bytes vs ${JSON.stringify(record).length}`)
  })

  it('a record with every field away from its default reads back as written', () => {
    const text = recordText(SCHEMA_VERSION, unusualRecord)
    assert.deepEqual(recordFrom(parse(text)), unusualRecord)
    // A value equal to the default of a field whose default is not null (0, '') is still written.
    assert.equal((parse(text)['spec'] as Record<string, unknown>)['retries'], 0)
  })

  it('any record survives the round trip', () => {
    fc.assert(fc.property(recordArb, (record) => {
      // (fast-check builds objects without a prototype; the store builds plain ones)
      assert.deepEqual(upgradeTask(parse(recordText(SCHEMA_VERSION, record))).task, structuredClone(record))
    }), { numRuns: 500 })
  })

  it('a whole version-2 record reads the same, and is marked for rewriting', () => {
    const whole = { v: 2, ...unusualRecord }
    const { task, changed } = upgradeTask(JSON.parse(JSON.stringify(whole)) as Record<string, unknown>)
    assert.deepEqual(task, unusualRecord)
    assert.equal(changed, true)
    assert.equal(upgradeTask(parse(recordText(SCHEMA_VERSION, unusualRecord))).changed, false)
  })

  it('an event carrying a definition is written with the compact one and read back whole; its text is handed over once', () => {
    const event: TaskEvent = { seq: 9, time: '2026-11-28T00:00:00.000Z', type: 'task.updated', task: 'odd', spec: unusual }
    const handed: string[] = []
    const text = eventText(SCHEMA_VERSION, event, (spec, specJson) => {
      assert.equal(spec, unusual)
      handed.push(specJson)
    })
    assert.deepEqual(handed, [specText(unusual)])
    assert.deepEqual(upgradeEvent(parse(text)), event)
    const plain = eventText(SCHEMA_VERSION, { ...event, spec: sampleSpec('x') })
    assert.deepEqual(Object.keys((parse(plain)['spec'] as object)), ['name', 'script', 'at', 'digest'])
  })

  it('events without a definition are written whole', () => {
    const exited: TaskEvent = {
      seq: 3, time: '2026-11-28T00:00:00.000Z', type: 'run.exited', task: 't', pid: 5, code: 1, signal: null, outcome: 'failed',
      durationMs: 12, stderr: 'boom "x"\n', fingerprint: 'f',
    }
    assert.deepEqual(upgradeEvent(parse(eventText(SCHEMA_VERSION, exited))), exited)
  })
})
