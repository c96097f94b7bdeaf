// A live task reads and writes like its record, though most of its fields live apart until first changed.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fromRecord, newRecord, newTask, recordOf, type TaskRecord } from '../../src/core/task-record.js'
import { sampleSpec } from '../helpers/sample-records.js'

const changed: Omit<TaskRecord, 'spec'> = {
  state: 'running', priority: 'high', bumped: true, consecutiveFailures: 2, retryStep: 1, attempts: 3, dueAt: 5, queuedSeq: 9,
  lastExitCode: 0, lastOutcome: 'killed', pid: 77, pidStart: '123', runStartedAt: 6, rearm: true, peakMemory: 0,
  stopping: { cause: 'timeout', killAt: 8 },
  durations: [1200, 900],
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

describe('live task', () => {
  it('starts as the record of a new task', () => {
    const spec = sampleSpec('a')
    assert.deepEqual(recordOf(newTask(spec, 4)), newRecord(spec, 4))
  })

  it('keeps every field written to it, and gives it back through recordOf and JSON', () => {
    const record: TaskRecord = { spec: sampleSpec('a'), ...changed }
    const task = fromRecord(newRecord(record.spec, 1), record.spec)
    for (const key of Object.keys(changed) as (keyof typeof changed)[]) (task as unknown as Record<string, unknown>)[key] = changed[key]
    assert.deepEqual(recordOf(task), record)
    assert.deepEqual(recordOf(fromRecord(record, record.spec)), record)
    assert.deepEqual(JSON.parse(JSON.stringify(task)), JSON.parse(JSON.stringify(record)))
  })

  it('reads a field set back to its default as the default', () => {
    const spec = sampleSpec('a')
    const task = newTask(spec, 1)
    task.pid = 5
    task.attempts = 1
    task.pid = null
    assert.equal(task.pid, null)
    assert.equal(task.attempts, 1)
    assert.deepEqual(recordOf(task), { ...newRecord(spec, 1), attempts: 1 })
  })
})
