// End to end: a real daemon runs real scripts; ctl shows them waiting, running and done.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import type { TaskView } from '../../src/core/view.js'
import type { TaskEvent } from '../../src/core/types.js'

describe('task lifecycle through ctl', () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  let daemon: DaemonProcess

  before(async () => {
    home = await tempDir()
    daemon = await DaemonProcess.start(home.path)
  })
  after(async () => {
    await daemon.cleanup()
    await home.remove()
  })

  it('runs a task due now at once and records its success with pid and exit code', async () => {
    const added = await daemon.ctl(['add', 'hello', '--script', fixture('ok.sh'), '--', 'a', 'b'])
    assert.equal(added.code, 0, added.stderr)
    await daemon.waitForEvent((e) => e.type === 'task.succeeded' && e.task === 'hello', 'hello to succeed')
    const task = await daemon.task('hello')
    assert.equal(task.state, 'succeeded')
    assert.equal(task.lastExitCode, 0)
    assert.equal(task.lastOutcome, 'succeeded')
    assert.equal(task.pid, null)
    assert.deepEqual(task.args, ['a', 'b'])
    const history = await daemon.ctlJson<TaskEvent[]>(['history', 'hello'])
    assert.deepEqual(history.map((e) => e.type), ['task.added', 'task.due', 'run.started', 'run.exited', 'task.succeeded'])
    const started = history.find((e) => e.type === 'run.started')
    assert.ok(started !== undefined && started.type === 'run.started' && started.pid > 0 && started.attempt === 1)
  })

  it('shows a dated task as scheduled, then running with its pid, then succeeded', async () => {
    const added = await daemon.ctl(['add', 'later', '--script', fixture('sleep.sh'), '--at', '+1s', '--', '1'])
    assert.equal(added.code, 0, added.stderr)
    const scheduled = await daemon.task('later')
    assert.equal(scheduled.state, 'scheduled')
    assert.equal(scheduled.waitingReason, null)
    const started = await daemon.waitForEvent((e) => e.type === 'run.started' && e.task === 'later', 'later to start')
    const running = await daemon.task('later')
    assert.equal(running.state, 'running')
    assert.equal(running.pid, started.type === 'run.started' ? started.pid : -1)
    await daemon.waitForEvent((e) => e.type === 'task.succeeded' && e.task === 'later', 'later to succeed')
    assert.equal((await daemon.task('later')).state, 'succeeded')
  })

  it('lists tasks as a table and as JSON with the contract fields', async () => {
    const table = await daemon.ctl(['list'])
    assert.equal(table.code, 0)
    assert.match(table.stdout, /^NAME\s+STATE\s+PRIORITY/)
    assert.match(table.stdout, /hello\s+succeeded/)
    const tasks = await daemon.ctlJson<TaskView[]>(['list'])
    const hello = tasks.find((t) => t.name === 'hello')
    assert.ok(hello !== undefined)
    for (const key of ['name', 'state', 'priority', 'basePriority', 'at', 'deadline', 'front', 'attempts', 'lastExitCode',
      'lastOutcome', 'pid', 'waitingReason', 'script', 'args']) {
      assert.ok(key in hello, `list --json rows carry ${key}`)
    }
  })
})
