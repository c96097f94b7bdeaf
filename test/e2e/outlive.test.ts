// End to end: runs outlive the daemon. A kill -9 or `ctl shutdown --keep-running` leaves them running
// with the launcher; the next daemon re-adopts them, and records the real status of those that ended
// meanwhile. The launcher goes away by itself once nothing is left to keep.
import assert from 'node:assert/strict'
import { mkdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { DaemonProcess, fixture, runCli } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { alive, waitFor } from '../helpers/wait.js'

const FLAGS = ['--max-cpu', '100', '--min-free-memory', '0']

describe('runs outlive the daemon', () => {
  const cleanups: (() => Promise<void>)[] = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  /** A fresh home and a daemon on it; everything ended and removed after the suite. */
  async function fresh(flags: string[] = []): Promise<{ home: string; first: DaemonProcess; restart: () => Promise<DaemonProcess> }> {
    const dir = await tempDir()
    const daemons: DaemonProcess[] = []
    cleanups.push(async () => {
      for (const daemon of daemons) await daemon.cleanup()
      await dir.remove()
    })
    const start = async (): Promise<DaemonProcess> => {
      const daemon = await DaemonProcess.start(dir.path, [...FLAGS, ...flags])
      daemons.push(daemon)
      return daemon
    }
    return { home: dir.path, first: await start(), restart: start }
  }

  it('re-adopts a run after kill -9: same pid, running, one start, no interruption, logs in the same file, stop works', { timeout: 40_000 }, async () => {
    const { home, first, restart } = await fresh()
    await first.add('ticker', ['--script', fixture('tick.sh'), '--', '0.2', '200'])
    const started = await first.waitForType('run.started', 'ticker')
    const launcher = await first.launcherPid()
    await first.crash()
    await new Promise((resolve) => setTimeout(resolve, 600))
    assert.ok(alive(started.pid), 'the run outlived the daemon')
    assert.ok(alive(launcher), 'so did the launcher')
    const second = await restart()
    assert.equal(await second.launcherPid(), launcher, 'the new daemon speaks to the same launcher')
    const task = await second.task('ticker')
    assert.equal(task.state, 'running')
    assert.equal(task.pid, started.pid)
    assert.equal(task.attempts, started.attempt)
    const out = join(home, 'logs', 'ticker.out.log')
    const before = (await readFile(out, 'utf8')).split('\n').length
    await waitFor(async () => (await readFile(out, 'utf8')).split('\n').length > before + 2 || null, 'the run to go on writing to its log')
    assert.equal((await second.ctl(['stop', 'ticker'])).code, 0)
    const exited = await second.waitForType('run.exited', 'ticker')
    assert.equal(exited.pid, started.pid)
    await waitFor(() => !alive(started.pid), 'the adopted run to be stopped')
    assert.equal(second.eventsOf('run.started', 'ticker').length, 1, 'one start for the one run')
    assert.ok(!second.events.some((e) => e.type === 'run.exited' && e.outcome === 'interrupted'), 'no interruption recorded')
  })

  it('records the real exit status of a run that ended while no daemon was there, and never runs a success again', { timeout: 40_000 }, async () => {
    const { first, restart } = await fresh()
    // Fails with code 3 after ~0.6 s; no retry, so its failure is final.
    await first.add('failing', ['--script', fixture('tick.sh'), '--retries', '0', '--', '0.2', '3', '3'])
    await first.add('passing', ['--script', fixture('tick.sh'), '--', '0.2', '3', '0'])
    const failing = await first.waitForType('run.started', 'failing')
    const passing = await first.waitForType('run.started', 'passing')
    await first.crash()
    await waitFor(() => !alive(failing.pid) && !alive(passing.pid), 'both runs to end while no daemon is there', 10_000)
    await new Promise((resolve) => setTimeout(resolve, 500))
    const second = await restart()
    const failed = await second.waitForType('run.exited', 'failing', (e) => e.pid === failing.pid)
    assert.equal(failed.code, 3)
    assert.equal(failed.outcome, 'failed')
    assert.ok(failed.durationMs >= 400 && failed.durationMs < 3000, `its real duration (${failed.durationMs} ms), not until the new daemon came`)
    await second.waitForType('task.failed', 'failing')
    const passed = await second.waitForType('run.exited', 'passing', (e) => e.pid === passing.pid)
    assert.equal(passed.outcome, 'succeeded')
    await second.waitForType('task.succeeded', 'passing')
    await new Promise((resolve) => setTimeout(resolve, 1000))
    assert.equal(second.eventsOf('run.started', 'passing').length, 1, 'a success is never run again')
    assert.equal((await second.task('passing')).state, 'succeeded')
  })

  it('ctl shutdown --keep-running exits 0 and leaves the run running; the next daemon re-adopts it', { timeout: 40_000 }, async () => {
    const { restart, first } = await fresh()
    await first.add('kept', ['--script', fixture('sleep.sh'), '--', '30'])
    const started = await first.waitForType('run.started', 'kept')
    const shutdown = await first.ctl(['shutdown', '--keep-running'])
    assert.equal(shutdown.code, 0, shutdown.stderr)
    await waitFor(() => first.child.exitCode !== null || null, 'the daemon to exit')
    assert.equal(first.child.exitCode, 0)
    assert.ok(alive(started.pid), 'the run goes on')
    const second = await restart()
    const task = await second.task('kept')
    assert.equal(task.state, 'running')
    assert.equal(task.pid, started.pid)
    assert.equal(second.eventsOf('run.exited', 'kept').length, 0)
  })

  it('counts a re-adopted run\'s timeout from its real start', { timeout: 40_000 }, async () => {
    const { first, restart } = await fresh()
    await first.add('bounded', ['--script', fixture('sleep.sh'), '--timeout', '3s', '--retries', '0', '--', '30'])
    const started = await first.waitForType('run.started', 'bounded')
    await first.crash()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const second = await restart()
    const exited = await second.waitForType('run.exited', 'bounded', () => true, 15_000)
    assert.equal(exited.pid, started.pid)
    assert.equal(exited.outcome, 'timeout')
    assert.ok(exited.durationMs >= 3000 && exited.durationMs < 5000, `ended ${exited.durationMs} ms after its real start`)
  })

  it('a stop in progress when the daemon dies is carried on by the next: SIGKILL at its time, recorded stopped, no retry', { timeout: 40_000 }, async () => {
    const { home, first, restart } = await fresh(['--kill-timeout', '3s'])
    const pids = join(home, 'stubborn.pids')
    // It ignores SIGTERM: only the SIGKILL that follows ends it.
    await first.add('stubborn', ['--script', fixture('stubborn.sh'), '--retries', '3', '--', pids])
    const started = await first.waitForType('run.started', 'stubborn')
    assert.equal((await first.ctl(['stop', 'stubborn'])).code, 0)
    const stopping = await first.waitForType('run.stopping', 'stubborn')
    assert.equal(stopping.cause, 'stop')
    await first.crash()
    const second = await restart()
    assert.equal((await second.task('stubborn')).stopping?.cause, 'stop', 'the new daemon knows the run is being stopped')
    const exited = await second.waitForType('run.exited', 'stubborn', (e) => e.pid === started.pid, 15_000)
    assert.equal(exited.outcome, 'stopped')
    assert.equal(exited.signal, 'SIGKILL')
    assert.ok(exited.durationMs >= 2500 && exited.durationMs < 6000, `ended by the SIGKILL owed 3 s after the stop, ${exited.durationMs} ms in`)
    await second.waitForType('task.stopped', 'stubborn')
    await new Promise((resolve) => setTimeout(resolve, 1500))
    assert.equal((await second.task('stubborn')).state, 'stopped')
    assert.equal(second.eventsOf('run.started', 'stubborn').length, 1, 'not started again: a stop is no failure to retry')
  })

  it('the launcher goes away by itself once no daemon is there and its runs ended; the next daemon gets their exits', { timeout: 40_000 }, async () => {
    const { home, first, restart } = await fresh()
    await first.add('short', ['--script', fixture('tick.sh'), '--', '0.2', '4', '0'])
    const started = await first.waitForType('run.started', 'short')
    const launcher = await first.launcherPid()
    assert.equal((await first.ctl(['shutdown', '--keep-running'])).code, 0)
    await waitFor(() => !alive(started.pid), 'the run to end')
    await waitFor(() => !alive(launcher), 'the launcher to go by itself', 10_000)
    assert.match(await readFile(join(home, 'launcher.journal'), 'utf8'), /"exit"/, 'its journal keeps the exit')
    const second = await restart()
    const exited = await second.waitForType('run.exited', 'short', (e) => e.pid === started.pid)
    assert.equal(exited.outcome, 'succeeded')
    // A graceful stop ends the runs, and then the launcher goes too.
    const next = await second.launcherPid()
    assert.equal(await second.stop(), 0)
    await waitFor(() => !alive(next), 'the launcher to go after a graceful stop', 10_000)
  })

  it('if the launcher died too, the run is ended and recorded interrupted, then runs again', { timeout: 40_000 }, async () => {
    const { first, restart } = await fresh()
    await first.add('lost', ['--script', fixture('sleep.sh'), '--', '30'])
    const started = await first.waitForType('run.started', 'lost')
    const launcher = await first.launcherPid()
    await first.crash()
    process.kill(launcher, 'SIGKILL')
    const second = await restart()
    const exited = await second.waitForType('run.exited', 'lost', (e) => e.pid === started.pid)
    assert.equal(exited.outcome, 'interrupted')
    await waitFor(() => !alive(started.pid) && !alive(-started.pid), 'nothing left running unsupervised', 10_000)
    const again = await second.waitForType('run.started', 'lost', (e) => e.seq > exited.seq)
    assert.notEqual(again.pid, started.pid)
  })

  it('refuses to start beside a launcher of another protocol version, saying so, and changes nothing', { timeout: 30_000 }, async () => {
    const dir = await tempDir()
    cleanups.push(() => dir.remove())
    await mkdir(dir.path, { recursive: true, mode: 0o700 })
    // A launcher of a later release: it answers every hello with a refusal in its own version.
    const server = createServer((socket) => {
      socket.once('data', () => socket.end(`${JSON.stringify({ refused: { version: 99, reason: 'protocol version' } })}\n`))
    })
    await new Promise<void>((resolve) => server.listen(join(dir.path, 'launcher.sock'), resolve))
    try {
      const result = await runCli(['daemon', '--home', dir.path, '--port', '0'])
      assert.equal(result.code, 1, result.stdout)
      assert.match(result.stderr, /launcher protocol 99, this daemon 1/)
      assert.match(result.stderr, /let its runs finish/)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
