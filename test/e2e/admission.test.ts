// End to end: the daemon's admission limits (--max-concurrent, --min-free-memory, --max-cpu) hold real tasks back.
import assert from 'node:assert/strict'
import { after, afterEach, describe, it } from 'node:test'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import type { TaskEvent } from '../../src/core/types.js'

type Dir = Awaited<ReturnType<typeof tempDir>>

describe('admission limits of a real daemon', () => {
  const daemons: DaemonProcess[] = []
  const dirs: Dir[] = []

  async function start(flags: string[]): Promise<DaemonProcess> {
    const home = await tempDir()
    dirs.push(home)
    const daemon = await DaemonProcess.start(home.path, flags)
    daemons.push(daemon)
    return daemon
  }


  /** A due task that must not start: still ready after a few resource samples (one a second), never started. */
  async function assertHeldBack(daemon: DaemonProcess, name: string, reason: RegExp): Promise<void> {
    await daemon.waitForType('task.due', name)
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const task = await daemon.task(name)
    assert.equal(task.state, 'ready')
    assert.equal(task.pid, null)
    assert.ok(task.waitingReason !== null, 'a held-back task says why')
    assert.match(task.waitingReason, reason)
    assert.deepEqual(daemon.eventsOf('run.started', name), [], `${name} never started`)
    const status = await daemon.ctl(['status', name])
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, /waiting:\s+\S/, 'the human status shows the reason too')
  }

  afterEach(async () => {
    for (const daemon of daemons.splice(0)) await daemon.cleanup()
  })
  after(async () => {
    for (const dir of dirs) await dir.remove()
  })

  it('never runs more than --max-concurrent 2 of 6 due tasks at once', { timeout: 60_000 }, async () => {
    const daemon = await start(['--max-concurrent', '2', '--max-cpu', '100', '--min-free-memory', '0'])
    const names = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6']
    for (const name of names) await daemon.add(name, ['--script', fixture('sleep.sh'), '--', '1'])
    for (const name of names) await daemon.waitForType('task.succeeded', name, () => true, 30_000)
    const runEvents = daemon.events.filter((e): e is Extract<TaskEvent, { type: 'run.started' | 'run.exited' }> =>
      names.includes(e.task) && (e.type === 'run.started' || e.type === 'run.exited'))
    let running = 0
    let most = 0
    for (const event of runEvents) {
      running += event.type === 'run.started' ? 1 : -1
      most = Math.max(most, running)
      assert.ok(running <= 2, `${running} running after seq ${event.seq} (${event.type} ${event.task})`)
    }
    assert.equal(most, 2, 'two tasks do run side by side')
    assert.equal(runEvents.filter((e) => e.type === 'run.started').length, 6, 'each task ran once')
  })

  it('holds a due task ready with a "memory:" waitingReason under --min-free-memory 100%', { timeout: 30_000 }, async () => {
    const daemon = await start(['--min-free-memory', '100%', '--max-cpu', '100'])
    await daemon.add('mem', ['--script', fixture('ok.sh')])
    await assertHeldBack(daemon, 'mem', /^memory:/)
  })

  it('holds a due task ready with a "cpu" waitingReason under --max-cpu 0', { timeout: 30_000 }, async () => {
    const daemon = await start(['--max-cpu', '0', '--min-free-memory', '0'])
    await daemon.add('cpu', ['--script', fixture('ok.sh')])
    await assertHeldBack(daemon, 'cpu', /^cpu/)
  })

  it('refuses a --memory above the machine\'s memory, naming the field and the machine\'s total', { timeout: 30_000 }, async () => {
    const daemon = await start(['--min-free-memory', '0'])
    const added = await daemon.ctl(['add', 'big', '--script', fixture('ok.sh'), '--memory', '100000G'])
    assert.equal(added.code, 1)
    assert.match(added.stderr, /^error: memory: expected at most this machine's memory \([\d.]+G\), got "100000G"\n$/)
    assert.equal((await daemon.ctl(['status', 'big'])).code, 1, 'nothing was added')
  })

  it('a task that can never fit does not hold the queue: the ones behind it run, and it says why it waits', { timeout: 30_000 }, async () => {
    // 95 % of the machine, with 10 % kept free: never startable here, though not beyond the machine.
    const daemon = await start(['--min-free-memory', '10%'])
    await daemon.add('huge', ['--script', fixture('ok.sh'), '--memory', '95%', '--priority', 'high'])
    await daemon.add('small', ['--script', fixture('ok.sh'), '--priority', 'low'])
    await daemon.waitForType('task.succeeded', 'small')
    const huge = await daemon.task('huge')
    assert.equal(huge.state, 'ready')
    assert.match(huge.waitingReason ?? '', /^memory: needs .*, more than this machine can ever free/)
    assert.equal(daemon.eventsOf('run.started', 'huge').length, 0)
  })
})
