// End to end: preemption with real processes. With one slot taken by a `--preemptible` run, a task
// whose deadline window is open stops it (outcome preempted, no failure, no attempt spent), runs, and
// the preempted task runs again after it; a run that is not preemptible is never touched.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'

interface ErrorRow { task: string; cause: string }

describe('preemption', () => {
  const suite = daemonForSuite(['--max-concurrent', '1', '--max-cpu', '100', '--min-free-memory', '0', '--kill-timeout', '1s'])

  it('a preemptible run makes room for a task near its deadline, then runs again', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    await daemon.add('batch', ['--script', fixture('sleep.sh'), '--priority', 'low', '--preemptible', '--retries', '0', '--', '600'])
    const first = await daemon.waitForType('run.started', 'batch')
    assert.equal((await daemon.task('batch')).preemptible, true)
    // Expected to take 2 minutes, due in 1: its deadline window is open at once.
    await daemon.add('report', ['--script', fixture('ok.sh'), '--deadline', '+1m', '--expect', '2m'])
    const stopping = await daemon.waitForType('run.stopping', 'batch')
    assert.equal(stopping.cause, 'preempt')
    assert.equal(stopping.pid, first.pid)
    const exited = await daemon.waitForType('run.exited', 'batch')
    assert.equal(exited.outcome, 'preempted')
    assert.equal(exited.signal, 'SIGTERM', 'its group was sent SIGTERM')
    const due = await daemon.waitForType('task.due', 'batch', (e) => e.reason === 'preempted')
    await daemon.waitForType('task.succeeded', 'report')
    const again = await daemon.waitForType('run.started', 'batch', (e) => e.pid !== first.pid)
    assert.ok(again.seq > due.seq)
    assert.equal(again.attempt, 1, 'the preempted run was not an attempt')
    const reportStart = daemon.eventsOf('run.started', 'report')[0]
    assert.ok(reportStart !== undefined && reportStart.seq < again.seq, 'the urgent task ran first')
    const batch = await daemon.task('batch')
    assert.equal(batch.priority, 'low', 'not demoted')
    assert.equal(batch.state, 'running')
    const errors = JSON.parse((await daemon.ctl(['errors', '--json'])).stdout) as ErrorRow[]
    assert.deepEqual(errors.filter((e) => e.task === 'batch'), [], 'a preemption is no failure')
    await daemon.ctl(['remove', 'batch'])
    await daemon.waitForType('task.removed', 'batch')
  })

  it('a run that is not preemptible is left alone: the urgent task waits for it', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    await daemon.add('steady', ['--script', fixture('sleep.sh'), '--priority', 'low', '--', '2'])
    await daemon.waitForType('run.started', 'steady')
    await daemon.add('urgent', ['--script', fixture('ok.sh'), '--deadline', '+1m', '--expect', '2m'])
    await daemon.waitForType('task.succeeded', 'steady', () => true, 15_000)
    await daemon.waitForType('task.succeeded', 'urgent', () => true, 15_000)
    assert.equal(daemon.eventsOf('run.stopping', 'steady').length, 0)
    assert.equal(daemon.eventsOf('run.exited', 'steady')[0]?.outcome, 'succeeded')
  })
})
