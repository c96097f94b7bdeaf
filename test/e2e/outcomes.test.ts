// End to end: how runs end (retry, final failure, stop, remove) and how ctl run starts them again.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { alive, waitFor } from '../helpers/wait.js'
import type { TaskEvent } from '../../src/core/types.js'
import type { TaskView } from '../../src/core/view.js'

type Dir = Awaited<ReturnType<typeof tempDir>>

describe('run outcomes through ctl', () => {
  let home: Dir
  let work: Dir
  let daemon: DaemonProcess

  before(async () => {
    home = await tempDir()
    work = await tempDir()
    daemon = await DaemonProcess.start(home.path, ['--max-cpu', '100', '--min-free-memory', '0'])
  })
  after(async () => {
    await daemon.cleanup()
    await home.remove()
    await work.remove()
  })


  /** A run's process and its whole process group are gone (a reparented child may take a moment to be reaped). */
  async function assertGone(pid: number): Promise<void> {
    assert.equal(alive(pid), false, `process ${pid} still exists`)
    await waitFor(() => !alive(-pid), `process group ${pid} to be gone`, 5000)
  }

  it('retries a failing script once with --retries 1, then fails with its exit code', { timeout: 60_000 }, async () => {
    await daemon.add('flaky', ['--script', fixture('fail.sh'), '--retries', '1', '--', '7'])
    const failed = await daemon.waitForType('task.failed', 'flaky')
    const retrying = daemon.eventsOf('task.retrying', 'flaky')
    assert.equal(retrying.length, 1, 'exactly one retry')
    const started = daemon.eventsOf('run.started', 'flaky')
    assert.deepEqual(started.map((e) => e.attempt), [1, 2])
    const [first, second] = started
    assert.ok(first !== undefined && second !== undefined)
    const retry = retrying[0]
    assert.ok(retry !== undefined && first.seq < retry.seq && retry.seq < second.seq, 'retrying comes between the two runs')
    assert.ok(Date.parse(second.time) >= Date.parse(retry.at) - 50, 'the second run waits out the backoff')
    const exits = daemon.eventsOf('run.exited', 'flaky')
    assert.deepEqual(exits.map((e) => [e.code, e.outcome]), [[7, 'failed'], [7, 'failed']])
    assert.ok(second.seq < failed.seq)
    const task = await daemon.task('flaky')
    assert.equal(task.state, 'failed')
    assert.equal(task.lastExitCode, 7)
    assert.equal(task.lastOutcome, 'failed')
    assert.equal(task.attempts, 2)
    assert.equal(task.pid, null)
  })

  it('fails at once without retry with --restart never', { timeout: 30_000 }, async () => {
    await daemon.add('once', ['--script', fixture('fail.sh'), '--restart', 'never', '--', '4'])
    await daemon.waitForType('task.failed', 'once')
    assert.equal(daemon.eventsOf('run.started', 'once').length, 1)
    assert.deepEqual(daemon.eventsOf('task.retrying', 'once'), [])
    const task = await daemon.task('once')
    assert.equal(task.state, 'failed')
    assert.equal(task.lastExitCode, 4)
    assert.equal(task.attempts, 1)
  })

  it('re-runs a finished task with ctl run', { timeout: 30_000 }, async () => {
    const file = join(work.path, 'rerun.txt')
    await daemon.add('again', ['--script', fixture('record.sh'), '--', file])
    await daemon.waitForType('task.succeeded', 'again')
    const run = await daemon.ctl(['run', 'again'])
    assert.equal(run.code, 0, run.stderr)
    const manual = await daemon.waitForType('task.due', 'again', (e) => e.reason === 'manual')
    await daemon.waitForType('task.succeeded', 'again', (e) => e.seq > manual.seq)
    assert.equal(daemon.eventsOf('run.started', 'again').length, 2)
    assert.equal(await readFile(file, 'utf8'), 'again\nagain\n')
    const task = await daemon.task('again')
    assert.equal(task.state, 'succeeded')
    assert.equal(task.lastOutcome, 'succeeded')
  })

  it('starts a task scheduled an hour ahead at once with ctl run', { timeout: 30_000 }, async () => {
    await daemon.add('early', ['--script', fixture('ok.sh'), '--at', '+1h'])
    assert.equal((await daemon.task('early')).state, 'scheduled')
    const run = await daemon.ctl(['run', 'early'])
    assert.equal(run.code, 0, run.stderr)
    await daemon.waitForType('task.succeeded', 'early')
    assert.equal((await daemon.task('early')).state, 'succeeded')
  })

  it('ends a running script with ctl stop: stopped, killed, no retry, process gone', { timeout: 30_000 }, async () => {
    await daemon.add('sleeper', ['--script', fixture('sleep.sh'), '--', '30'])
    const { pid } = await daemon.waitForType('run.started', 'sleeper')
    assert.equal(alive(pid), true)
    const stop = await daemon.ctl(['stop', 'sleeper'])
    assert.equal(stop.code, 0, stop.stderr)
    const stopped = await daemon.waitForType('task.stopped', 'sleeper')
    const exits = daemon.eventsOf('run.exited', 'sleeper')
    assert.equal(exits.length, 1)
    assert.equal(exits[0]?.outcome, 'killed')
    assert.ok((exits[0]?.durationMs ?? Infinity) < 30_000)
    assert.ok((exits[0]?.seq ?? Infinity) < stopped.seq)
    assert.deepEqual(daemon.eventsOf('task.retrying', 'sleeper'), [], 'a stopped run is not retried')
    const task = await daemon.task('sleeper')
    assert.equal(task.state, 'stopped')
    assert.equal(task.lastOutcome, 'killed')
    assert.equal(task.pid, null)
    await assertGone(pid)
  })

  it('deletes a task with ctl remove, ending its run, while its history stays', { timeout: 30_000 }, async () => {
    await daemon.add('doomed', ['--script', fixture('sleep.sh'), '--', '30'])
    const { pid } = await daemon.waitForType('run.started', 'doomed')
    const removed = await daemon.ctl(['remove', 'doomed'])
    assert.equal(removed.code, 0, removed.stderr)
    await daemon.waitForType('task.removed', 'doomed')
    const exited = await daemon.waitForType('run.exited', 'doomed')
    assert.equal(exited.outcome, 'killed')
    await assertGone(pid)
    const status = await daemon.ctl(['status', 'doomed'])
    assert.equal(status.code, 1)
    assert.match(status.stderr, /doomed/)
    const tasks = await daemon.ctlJson<TaskView[]>(['list'])
    assert.ok(!tasks.some((t) => t.name === 'doomed'), 'removed task is not listed')
    const history = await daemon.ctlJson<TaskEvent[]>(['history', 'doomed'])
    const types = history.map((e) => e.type)
    for (const type of ['task.added', 'run.started', 'task.removed', 'run.exited'] as const) {
      assert.ok(types.includes(type), `history of a removed task keeps ${type}: ${types.join(', ')}`)
    }
    assert.ok(history.every((e) => e.task === 'doomed'))
  })
})
