// End to end: a daemon restarted after a crash or a graceful stop ends, records and resumes the runs it lost.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { daemonForSuite, DaemonProcess, fixture, type EventOf } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { alive, launchersOf, waitFor } from '../helpers/wait.js'
import type { TaskEvent } from '../../src/core/types.js'

type Dir = Awaited<ReturnType<typeof tempDir>>
const FLAGS = ['--max-cpu', '100', '--min-free-memory', '0']
/** How long the cut-off run would last on its own: long enough that only the new daemon can have ended it. */
const CUT_SECONDS = 6

const ofType = <T extends TaskEvent['type']>(events: TaskEvent[], type: T): EventOf<T>[] =>
  events.filter((e): e is EventOf<T> => e.type === type)


describe('recovery after the daemon and its launcher are killed with SIGKILL mid-run', () => {
  let home: Dir
  const daemons: DaemonProcess[] = []
  let second: DaemonProcess
  let oldPid: number
  let startedAt: number
  let aliveAfterCrash: boolean
  let lastSeqBefore: number

  before(async () => {
    home = await tempDir()
    const first = await DaemonProcess.start(home.path, FLAGS)
    daemons.push(first)
    await first.add('once', ['--script', fixture('ok.sh')])
    await first.waitForType('task.succeeded', 'once')
    await first.add('cut', ['--script', fixture('sleep.sh'), '--', String(CUT_SECONDS)])
    oldPid = (await first.waitForType('run.started', 'cut')).pid
    startedAt = Date.now()
    lastSeqBefore = (await first.ctlJson<TaskEvent[]>(['history'])).at(-1)?.seq ?? 0
    // The launcher too: with it alive the run would be re-adopted (outlive.test), not cut off.
    const launcher = await first.launcherPid()
    await first.crash()
    process.kill(launcher, 'SIGKILL')
    aliveAfterCrash = alive(oldPid)
    second = await DaemonProcess.start(home.path, FLAGS)
    daemons.push(second)
  })
  after(async () => {
    // Both instances: the first one's cleanup ends its run if the second failed to.
    for (const daemon of daemons) await daemon.cleanup()
    await home.remove()
  })

  it('ends the process group the dead daemon left running, soon after the new one boots', { timeout: 30_000 }, async () => {
    assert.ok(aliveAfterCrash, 'the run outlived the killed daemon')
    // An orphan is reaped by init, which may take a moment after it is killed.
    await waitFor(() => !alive(oldPid) && !alive(-oldPid), `old process group ${oldPid} to be gone`, 3000)
    const took = Date.now() - startedAt
    assert.ok(took < CUT_SECONDS * 1000 - 500, `gone ${took} ms after its start: it was not ended by the new daemon`)
  })

  it('records the cut-off run as interrupted, runs the task again and succeeds exactly once', { timeout: 30_000 }, async () => {
    await second.waitForType('task.succeeded', 'cut', () => true, 20_000)
    const history = await second.ctlJson<TaskEvent[]>(['history', 'cut'])
    const runs = history.filter((e) => e.type === 'run.started' || e.type === 'run.exited' || e.type === 'task.due')
    const cutAt = runs.findIndex((e) => e.type === 'run.started' && e.pid === oldPid)
    assert.ok(cutAt >= 0, 'the history holds the run of the old pid')
    const [exited, due, restarted, finished] = runs.slice(cutAt + 1)
    assert.ok(exited?.type === 'run.exited', `the old run's next event is its exit, got ${exited?.type}`)
    assert.equal(exited.outcome, 'interrupted')
    assert.ok(exited.seq > lastSeqBefore, 'recorded by the new daemon')
    assert.ok(due?.type === 'task.due' && due.reason === 'interrupted', 'queued again as interrupted')
    assert.ok(restarted?.type === 'run.started', 'then started again')
    assert.notEqual(restarted.pid, oldPid)
    assert.ok(finished?.type === 'run.exited' && finished.outcome === 'succeeded')
    assert.equal(ofType(history, 'task.succeeded').length, 1, 'exactly one success over the whole history')
    assert.equal(ofType(history, 'run.started').length, 2)
    assert.deepEqual(ofType(history, 'task.retrying'), [], 'an interruption is not a failure')
    const task = await second.task('cut')
    assert.equal(task.state, 'succeeded')
    assert.equal(task.lastOutcome, 'succeeded')
  })

  it('does not run again a one-off that had succeeded before the crash', { timeout: 30_000 }, async () => {
    // By now the new daemon has booted, planned and run the cut-off task: time enough to misfire.
    await second.waitForType('task.succeeded', 'cut', () => true, 20_000)
    const history = await second.ctlJson<TaskEvent[]>(['history', 'once'])
    assert.equal(ofType(history, 'run.started').length, 1)
    assert.equal(ofType(history, 'task.succeeded').length, 1)
    assert.ok(history.every((e) => e.seq <= lastSeqBefore), 'nothing new happened to it after the crash')
    assert.equal((await second.task('once')).state, 'succeeded')
  })
})

describe('recovery after a graceful stop mid-run', () => {
  let home: Dir
  const daemons: DaemonProcess[] = []

  before(async () => {
    home = await tempDir()
  })
  after(async () => {
    for (const daemon of daemons) await daemon.cleanup()
    await home.remove()
  })

  it('exits 0 on SIGTERM, records the run as interrupted, and starts it again after a restart', { timeout: 90_000 }, async () => {
    const first = await DaemonProcess.start(home.path, FLAGS)
    daemons.push(first)
    await first.add('long', ['--script', fixture('sleep.sh'), '--', '30'])
    const { pid } = await first.waitForType('run.started', 'long')
    const stopping = Date.now()
    assert.equal(await first.stop(), 0)
    const stopTook = Date.now() - stopping
    assert.equal(alive(pid), false, 'the run ended with the daemon')
    await waitFor(() => !alive(-pid), `process group ${pid} to be gone`, 5000)

    const bootAt = Date.now()
    const second = await DaemonProcess.start(home.path, FLAGS)
    daemons.push(second)
    const recorded = await second.ctlJson<TaskEvent[]>(['history', 'long'])
    const runs = recorded.filter((e): e is EventOf<'run.started' | 'run.exited'> =>
      (e.type === 'run.started' || e.type === 'run.exited') && Date.parse(e.time) < bootAt)
    assert.deepEqual(runs.map((e) => (e.type === 'run.exited' ? `exited ${e.outcome}` : `started ${e.pid}`)),
      [`started ${pid}`, 'exited interrupted'], 'the stopping daemon records the run as interrupted and starts nothing more')
    assert.equal(ofType(recorded, 'task.due').filter((e) => e.reason === 'interrupted').length, 1, 'queued again, as interrupted')
    const restarted = await second.waitForType('run.started', 'long', (e) => Date.parse(e.time) >= bootAt)
    assert.notEqual(restarted.pid, pid)
    const task = await second.task('long')
    assert.equal(task.state, 'running')
    assert.equal(task.pid, restarted.pid)
    assert.equal(task.lastOutcome, 'interrupted')
    assert.ok(stopTook < 10_000, `SIGTERM took ${stopTook} ms to stop the daemon`)
  })
})

describe('recovery when the launcher process dies under a running daemon', () => {
  const suite = daemonForSuite(FLAGS)

  it('ends the runs it watched, records them as interrupted (no retry spent), and starts them again through a new launcher', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    const [launcher] = launchersOf(daemon.pid)
    assert.ok(launcher !== undefined, 'the daemon has its launcher')
    // restart: never and no retries: a failure would end it for good, an interruption must not.
    await daemon.add('watched', ['--script', fixture('sleep.sh'), '--retries', '0', '--restart', 'never', '--', '30'])
    const first = await daemon.waitForType('run.started', 'watched')
    process.kill(launcher, 'SIGKILL')
    // Nobody is left to report this run's exit: the daemon ends its group and records it at once.
    const exited = await daemon.waitForType('run.exited', 'watched', (e) => e.pid === first.pid)
    assert.equal(exited.outcome, 'interrupted', 'an infrastructure failure, not the task\'s')
    await waitFor(() => !alive(-first.pid), `run group ${first.pid} to be gone`, 5000)
    const retry = await daemon.waitForType('run.started', 'watched', (e) => e.seq > exited.seq, 15_000)
    assert.notEqual(retry.pid, first.pid)
    assert.equal(daemon.eventsOf('task.failed', 'watched').length, 0, 'with no retries left, a failure would have ended it')
    const [replacement] = await waitFor(() => {
      const found = launchersOf(daemon.pid)
      return found.length > 0 ? found : null
    }, 'a new launcher')
    assert.notEqual(replacement, launcher)
    assert.equal((await daemon.task('watched')).state, 'running', 'it runs again, watched by the new launcher')
    assert.equal(daemon.child.exitCode, null, 'the daemon lives on')
  })
})
