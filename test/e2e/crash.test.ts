// End to end: after kill -9 of the daemon, a new one on the same home recovers the queue and the cut-off run.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { alive, waitFor } from '../helpers/wait.js'
import type { TaskEvent } from '../../src/core/types.js'
import type { TaskView } from '../../src/core/view.js'

const FLAGS = ['--max-cpu', '100', '--min-free-memory', '0']
const QUEUED = ['q-high', 'q-low-deadline', 'q-front', 'q-iso']
/** The fields of a queued task that a crash must not change. */
const KEPT = ['state', 'at', 'priority', 'basePriority', 'deadline', 'front', 'script', 'args', 'attempts'] as const

describe('recovery after the daemon and its launcher are killed with SIGKILL', () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  const daemons: DaemonProcess[] = []
  let first: DaemonProcess
  let second: DaemonProcess
  let sleeperPid: number
  let orphanOutlivedCrash: boolean
  let listBefore: TaskView[]
  let historyBefore: TaskEvent[]

  before(async () => {
    home = await tempDir()
    first = await DaemonProcess.start(home.path, FLAGS)
    daemons.push(first)
    const iso = new Date(Date.now() + 2 * 3_600_000).toISOString()
    const adds = [
      ['q-high', '--script', fixture('ok.sh'), '--at', '+1h', '--priority', 'high', '--', 'x', 'y z'],
      ['q-low-deadline', '--script', fixture('ok.sh'), '--at', '+1h', '--priority', 'low', '--deadline', '+3h'],
      ['q-front', '--script', fixture('fail.sh'), '--at', '+90m', '--front', '--retries', '0'],
      ['q-iso', '--script', fixture('ok.sh'), '--at', iso, '--deadline', '+1d'],
      ['sleeper', '--script', fixture('sleep.sh'), '--', '300'],
    ]
    for (const args of adds) {
      const added = await first.ctl(['add', ...args])
      assert.equal(added.code, 0, added.stderr)
    }
    sleeperPid = (await first.waitForType('run.started', 'sleeper')).pid
    listBefore = await first.ctlJson<TaskView[]>(['list'])
    historyBefore = await first.ctlJson<TaskEvent[]>(['history'])
    // The launcher too (a crash of the whole machine's processes, say): its runs are then lost to
    // supervision, and the at-least-once path applies. (Runs that outlive the daemon alone: outlive.test.)
    const launcher = await first.launcherPid()
    await first.crash()
    process.kill(launcher, 'SIGKILL')
    orphanOutlivedCrash = alive(sleeperPid)
    second = await DaemonProcess.start(home.path, FLAGS)
    daemons.push(second)
  })
  after(async () => {
    // Both instances: the first one's cleanup ends the sleeper it started, which outlived it.
    for (const daemon of daemons) await daemon.cleanup()
    await home.remove()
  })

  const lastSeqBefore = (): number => historyBefore.at(-1)?.seq ?? 0

  it('keeps every queued task with the same state, dates, priority and options', async () => {
    const afterList = await second.ctlJson<TaskView[]>(['list'])
    for (const name of QUEUED) {
      const was = listBefore.find((t) => t.name === name)
      const now = afterList.find((t) => t.name === name)
      assert.ok(was !== undefined, `${name} existed before the crash`)
      assert.ok(now !== undefined, `${name} survived the crash`)
      assert.equal(was.state, 'scheduled')
      for (const key of KEPT) assert.deepEqual(now[key], was[key], `${name}.${key} after the crash`)
    }
    assert.equal(afterList.length, listBefore.length, 'no task lost or invented')
    const lowDeadline = afterList.find((t) => t.name === 'q-low-deadline')
    assert.ok(lowDeadline !== undefined && lowDeadline.deadline !== null && lowDeadline.priority === 'low')
    assert.deepEqual(afterList.find((t) => t.name === 'q-high')?.args, ['x', 'y z'])
  })

  it('records the cut-off run as interrupted and queues the task again', { timeout: 30_000 }, async () => {
    assert.ok(orphanOutlivedCrash, 'the run outlived the killed daemon (else this test proves nothing)')
    const exited = await second.waitForType('run.exited', 'sleeper')
    assert.equal(exited.outcome, 'interrupted')
    assert.ok(exited.seq > lastSeqBefore(), 'the interruption is recorded by the new daemon')
    const due = await second.waitForType('task.due', 'sleeper', (e) => e.seq > exited.seq)
    assert.equal(due.reason, 'interrupted')
    assert.deepEqual(second.eventsOf('task.retrying', 'sleeper'), [], 'an interruption is not a failure')
    const restarted = await second.waitForType('run.started', 'sleeper', (e) => e.seq > due.seq)
    assert.notEqual(restarted.pid, sleeperPid)
    // No task runs twice at once: the run the dead daemon left behind is ended, not duplicated.
    await waitFor(() => !alive(-sleeperPid), `the orphaned run ${sleeperPid} to be ended`, 10_000)
    assert.equal(alive(restarted.pid), true)
    const task = await second.task('sleeper')
    assert.equal(task.lastOutcome, 'interrupted')
    assert.equal(task.state, 'running')
    assert.equal(task.pid, restarted.pid)
  })

  it('keeps seq strictly increasing across the restart, never reusing one', { timeout: 30_000 }, async () => {
    const added = await second.ctl(['add', 'post-crash', '--script', fixture('ok.sh')])
    assert.equal(added.code, 0, added.stderr)
    const post = await second.waitForType('task.added', 'post-crash')
    assert.ok(post.seq > lastSeqBefore())
    const history = await second.ctlJson<TaskEvent[]>(['history'])
    const seqs = history.map((e) => e.seq)
    for (let i = 1; i < seqs.length; i++) {
      assert.ok((seqs[i] as number) > (seqs[i - 1] as number), `seq ${seqs[i]} after ${seqs[i - 1]}`)
    }
    // The events from before the crash are kept as they were, under the same seq.
    const kept = history.filter((e) => e.seq <= lastSeqBefore())
    assert.deepEqual(kept, historyBefore)
    // The live stream of the new daemon (subscribed from 0) agrees: no seq twice.
    const streamed = second.events.map((e) => e.seq)
    assert.equal(new Set(streamed).size, streamed.length)
  })
})
