// End to end: how runs end (retry, final failure, stop, remove) and how ctl run starts them again.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'
import { alive, waitFor } from '../helpers/wait.js'
import type { TaskEvent } from '../../src/core/types.js'
import type { TaskView } from '../../src/core/view.js'

describe('run outcomes through ctl', () => {
  const suite = daemonForSuite(['--max-cpu', '100', '--min-free-memory', '0'])

  /** A run's process and its whole process group are gone (a reparented child may take a moment to be reaped). */
  async function assertGone(pid: number): Promise<void> {
    assert.equal(alive(pid), false, `process ${pid} still exists`)
    await waitFor(() => !alive(-pid), `process group ${pid} to be gone`, 5000)
  }

  it('retries a failing script once with --retries 1, then fails with its exit code', { timeout: 60_000 }, async () => {
    await suite.daemon.add('flaky', ['--script', fixture('fail.sh'), '--retries', '1', '--', '7'])
    const failed = await suite.daemon.waitForType('task.failed', 'flaky')
    const retrying = suite.daemon.eventsOf('task.retrying', 'flaky')
    assert.equal(retrying.length, 1, 'exactly one retry')
    const started = suite.daemon.eventsOf('run.started', 'flaky')
    assert.deepEqual(started.map((e) => e.attempt), [1, 2])
    const [first, second] = started
    assert.ok(first !== undefined && second !== undefined)
    const retry = retrying[0]
    assert.ok(retry !== undefined && first.seq < retry.seq && retry.seq < second.seq, 'retrying comes between the two runs')
    assert.ok(Date.parse(second.time) >= Date.parse(retry.at) - 50, 'the second run waits out the backoff')
    const exits = suite.daemon.eventsOf('run.exited', 'flaky')
    assert.deepEqual(exits.map((e) => [e.code, e.outcome]), [[7, 'failed'], [7, 'failed']])
    assert.ok(second.seq < failed.seq)
    const task = await suite.daemon.task('flaky')
    assert.equal(task.state, 'failed')
    assert.equal(task.lastExitCode, 7)
    assert.equal(task.lastOutcome, 'failed')
    assert.equal(task.attempts, 2)
    assert.equal(task.pid, null)
  })

  it('fails at once without retry with --restart never', { timeout: 30_000 }, async () => {
    await suite.daemon.add('once', ['--script', fixture('fail.sh'), '--restart', 'never', '--', '4'])
    await suite.daemon.waitForType('task.failed', 'once')
    assert.equal(suite.daemon.eventsOf('run.started', 'once').length, 1)
    assert.deepEqual(suite.daemon.eventsOf('task.retrying', 'once'), [])
    const task = await suite.daemon.task('once')
    assert.equal(task.state, 'failed')
    assert.equal(task.lastExitCode, 4)
    assert.equal(task.attempts, 1)
  })

  it('re-runs a finished task with ctl run', { timeout: 30_000 }, async () => {
    const file = join(suite.work, 'rerun.txt')
    await suite.daemon.add('again', ['--script', fixture('record.sh'), '--', file])
    await suite.daemon.waitForType('task.succeeded', 'again')
    const run = await suite.daemon.ctl(['run', 'again'])
    assert.equal(run.code, 0, run.stderr)
    const manual = await suite.daemon.waitForType('task.due', 'again', (e) => e.reason === 'manual')
    await suite.daemon.waitForType('task.succeeded', 'again', (e) => e.seq > manual.seq)
    assert.equal(suite.daemon.eventsOf('run.started', 'again').length, 2)
    assert.equal(await readFile(file, 'utf8'), 'again\nagain\n')
    const task = await suite.daemon.task('again')
    assert.equal(task.state, 'succeeded')
    assert.equal(task.lastOutcome, 'succeeded')
  })

  it('starts a task scheduled an hour ahead at once with ctl run', { timeout: 30_000 }, async () => {
    await suite.daemon.add('early', ['--script', fixture('ok.sh'), '--at', '+1h'])
    assert.equal((await suite.daemon.task('early')).state, 'scheduled')
    const run = await suite.daemon.ctl(['run', 'early'])
    assert.equal(run.code, 0, run.stderr)
    await suite.daemon.waitForType('task.succeeded', 'early')
    assert.equal((await suite.daemon.task('early')).state, 'succeeded')
  })

  it('ends a running script with ctl stop: outcome stopped, no retry, not in errors, process gone', { timeout: 30_000 }, async () => {
    await suite.daemon.add('sleeper', ['--script', fixture('sleep.sh'), '--', '30'])
    const { pid } = await suite.daemon.waitForType('run.started', 'sleeper')
    assert.equal(alive(pid), true)
    const stop = await suite.daemon.ctl(['stop', 'sleeper'])
    assert.equal(stop.code, 0, stop.stderr)
    const stopped = await suite.daemon.waitForType('task.stopped', 'sleeper')
    const exits = suite.daemon.eventsOf('run.exited', 'sleeper')
    assert.equal(exits.length, 1)
    assert.equal(exits[0]?.outcome, 'stopped')
    assert.ok((exits[0]?.durationMs ?? Infinity) < 30_000)
    assert.ok((exits[0]?.seq ?? Infinity) < stopped.seq)
    assert.deepEqual(suite.daemon.eventsOf('task.retrying', 'sleeper'), [], 'a stopped run is not retried')
    const task = await suite.daemon.task('sleeper')
    assert.equal(task.state, 'stopped')
    assert.equal(task.lastOutcome, 'stopped')
    assert.equal(task.pid, null)
    await assertGone(pid)
    const errors = await suite.daemon.ctlJson<{ task: string }[]>(['errors'])
    assert.deepEqual(errors.filter((e) => e.task === 'sleeper'), [], 'a user\'s stop never shows in errors')
  })

  it('deletes a task with ctl remove, ending its run, while its history stays', { timeout: 30_000 }, async () => {
    await suite.daemon.add('doomed', ['--script', fixture('sleep.sh'), '--', '30'])
    const { pid } = await suite.daemon.waitForType('run.started', 'doomed')
    const removed = await suite.daemon.ctl(['remove', 'doomed'])
    assert.equal(removed.code, 0, removed.stderr)
    await suite.daemon.waitForType('task.removed', 'doomed')
    const exited = await suite.daemon.waitForType('run.exited', 'doomed')
    assert.equal(exited.outcome, 'stopped')
    await assertGone(pid)
    const status = await suite.daemon.ctl(['status', 'doomed'])
    assert.equal(status.code, 1)
    assert.match(status.stderr, /doomed/)
    const tasks = await suite.daemon.ctlJson<TaskView[]>(['list'])
    assert.ok(!tasks.some((t) => t.name === 'doomed'), 'removed task is not listed')
    const history = await suite.daemon.ctlJson<TaskEvent[]>(['history', 'doomed'])
    const types = history.map((e) => e.type)
    for (const type of ['task.added', 'run.started', 'task.removed', 'run.exited'] as const) {
      assert.ok(types.includes(type), `history of a removed task keeps ${type}: ${types.join(', ')}`)
    }
    assert.ok(history.every((e) => e.task === 'doomed'))
  })

  it('ctl restart stops the running process and starts it again at once: outcome stopped, no failure, no retry spent', { timeout: 30_000 }, async () => {
    await suite.daemon.add('svc', ['--script', fixture('sleep.sh'), '--retries', '0', '--restart', 'never', '--', '30'])
    const first = await suite.daemon.waitForType('run.started', 'svc')
    const restart = await suite.daemon.ctl(['restart', 'svc'])
    assert.equal(restart.code, 0, restart.stderr)
    assert.match(restart.stdout, /^svc: restarting\n$/)
    const exited = await suite.daemon.waitForType('run.exited', 'svc', (e) => e.pid === first.pid)
    assert.equal(exited.outcome, 'stopped')
    const second = await suite.daemon.waitForType('run.started', 'svc', (e) => e.seq > exited.seq)
    assert.notEqual(second.pid, first.pid)
    await assertGone(first.pid)
    assert.deepEqual(suite.daemon.eventsOf('task.failed', 'svc'), [], 'retries 0: a failure would have ended it')
    const task = await suite.daemon.task('svc')
    assert.equal(task.state, 'running')
    assert.equal(task.priority, 'medium', 'not demoted')
    assert.equal((await suite.daemon.ctl(['stop', 'svc'])).code, 0)
  })

  it('ctl start is run by another name; ctl restart of a task that is not running runs it', { timeout: 30_000 }, async () => {
    await suite.daemon.add('later', ['--script', fixture('ok.sh'), '--at', '+1h'])
    const started = await suite.daemon.ctl(['start', 'later'])
    assert.equal(started.code, 0, started.stderr)
    await suite.daemon.waitForType('task.succeeded', 'later')
    const again = await suite.daemon.ctl(['restart', 'later'])
    assert.equal(again.code, 0, again.stderr)
    await waitFor(() => suite.daemon.eventsOf('task.succeeded', 'later').length === 2 || null, 'a second run')
  })

  it('a run killed from outside says so, and errors lists it under that cause', { timeout: 30_000 }, async () => {
    await suite.daemon.add('victim', ['--script', fixture('sleep.sh'), '--retries', '0', '--', '30'])
    const { pid } = await suite.daemon.waitForType('run.started', 'victim')
    process.kill(pid, 'SIGKILL')
    const exited = await suite.daemon.waitForType('run.exited', 'victim')
    assert.equal(exited.outcome, 'killed')
    assert.equal(exited.cause, 'killed by SIGKILL from outside')
    const errors = await suite.daemon.ctlJson<{ task: string; cause: string }[]>(['errors'])
    assert.deepEqual(errors.filter((e) => e.task === 'victim').map((e) => e.cause), ['killed by SIGKILL from outside'])
  })
})
