// End to end: cron policies with real processes and the real clock (schedules in seconds). `overlap`:
// a slot that comes while the run still goes on is skipped and recorded, queued to run right after, or
// replaces the run; `missed`: slots that passed while the daemon was down run once, or are skipped.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { daemonForSuite, DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'

const FLAGS = ['--max-cpu', '100', '--min-free-memory', '0', '--kill-timeout', '1s']
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('cron overlap', () => {
  const suite = daemonForSuite(FLAGS)

  it('skip (default): slots during a run are recorded, never a second run at once', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    await daemon.add('every-second', ['--cron', '* * * * * *', '--script', fixture('sleep.sh'), '--', '2.5'])
    const first = await daemon.waitForType('run.started', 'every-second')
    const skipped = await daemon.waitForType('task.slot-overlap', 'every-second')
    assert.equal(skipped.policy, 'skip')
    assert.ok(Date.parse(skipped.at) > Date.parse(first.time), 'a slot after the start')
    await daemon.waitForType('run.exited', 'every-second', (e) => e.pid === first.pid, 10_000)
    await daemon.ctl(['remove', 'every-second'])
    await daemon.waitForType('task.removed', 'every-second')
    const started = daemon.eventsOf('run.started', 'every-second')
    const exited = daemon.eventsOf('run.exited', 'every-second')
    for (const run of started.slice(1)) {
      assert.ok(exited.some((e) => e.seq < run.seq && e.pid !== run.pid), 'each run starts after the one before ended')
    }
    assert.ok(daemon.eventsOf('task.slot-overlap', 'every-second').length >= 2, 'every skipped slot is recorded')
  })

  it('queue: the slot that came during the run runs right after it', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    await daemon.add('queued', ['--cron', '*/2 * * * * *', '--overlap', 'queue', '--script', fixture('sleep.sh'), '--', '2.5'])
    const first = await daemon.waitForType('run.started', 'queued')
    const overlap = await daemon.waitForType('task.slot-overlap', 'queued')
    assert.equal(overlap.policy, 'queue')
    const exited = await daemon.waitForType('run.exited', 'queued', (e) => e.pid === first.pid, 10_000)
    const due = await daemon.waitForType('task.due', 'queued', (e) => e.reason === 'overlap')
    const second = await daemon.waitForType('run.started', 'queued', (e) => e.pid !== first.pid)
    assert.ok(due.seq > exited.seq && second.seq > due.seq)
    assert.ok(Date.parse(second.time) - Date.parse(exited.time) < 1500, 'at once, not at the next slot')
    await daemon.ctl(['remove', 'queued'])
    await daemon.waitForType('task.removed', 'queued')
  })

  it('replace: the run is stopped (outcome stopped, not in errors) and the slot runs', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    await daemon.add('replaced', ['--cron', '*/2 * * * * *', '--overlap', 'replace', '--script', fixture('sleep.sh'), '--', '600'])
    const first = await daemon.waitForType('run.started', 'replaced')
    const stopping = await daemon.waitForType('run.stopping', 'replaced')
    assert.equal(stopping.cause, 'replace')
    const exited = await daemon.waitForType('run.exited', 'replaced', (e) => e.pid === first.pid)
    assert.equal(exited.outcome, 'stopped')
    assert.match(exited.cause ?? '', /replaced by its cron slot/)
    const second = await daemon.waitForType('run.started', 'replaced', (e) => e.pid !== first.pid)
    assert.equal(second.attempt, 1)
    const errors = JSON.parse((await daemon.ctl(['errors', '--json'])).stdout) as { task: string }[]
    assert.deepEqual(errors.filter((e) => e.task === 'replaced'), [])
    await daemon.ctl(['remove', 'replaced'])
    await daemon.waitForType('task.removed', 'replaced')
  })

  it('refuses missed or overlap without a cron schedule, and a bad value, naming the field', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    const plain = await daemon.ctl(['add', 'x', '--script', fixture('ok.sh'), '--overlap', 'queue'])
    assert.equal(plain.code, 1)
    assert.match(plain.stderr, /overlap: only applies to a cron schedule/)
    const bad = await daemon.ctl(['add', 'y', '--script', fixture('ok.sh'), '--cron', '* * * * *', '--missed', 'twice'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /missed: expected once\|skip/)
  })
})

describe('cron slots missed while the daemon was down', () => {
  for (const policy of ['once', 'skip'] as const) {
    it(`${policy}: recorded at the next start; ${policy === 'once' ? 'runs once at once' : 'waits for the next slot'}`, { timeout: 40_000 }, async () => {
      const home = await tempDir()
      let daemon: DaemonProcess | null = null
      try {
        daemon = await DaemonProcess.start(home.path, FLAGS)
        // Every 5 seconds: long enough a gap to tell "at once" from "at the next slot".
        await daemon.add('tick', ['--cron', '*/5 * * * * *', '--missed', policy, '--script', fixture('ok.sh')])
        await daemon.waitForType('task.succeeded', 'tick', () => true, 10_000)
        const waiting = await daemon.task('tick')
        const slot = Date.parse(waiting.nextRunAt ?? '')
        assert.equal(await daemon.stop(), 0)
        await sleep(Math.max(0, slot - Date.now()) + 1200)
        const bootAt = Date.now()
        daemon = await DaemonProcess.start(home.path, FLAGS)
        const missed = await daemon.waitForType('task.slot-missed', 'tick')
        assert.equal(missed.policy, policy)
        assert.equal(Date.parse(missed.at), slot)
        if (policy === 'once') {
          const run = await daemon.waitForType('run.started', 'tick', (e) => e.seq > missed.seq)
          assert.ok(Date.parse(run.time) - bootAt < 2500, 'at once')
        } else {
          const next = await daemon.waitForType('task.scheduled', 'tick', (e) => e.seq > missed.seq)
          assert.ok(Date.parse(next.at) > bootAt, 'the next slot from now')
          assert.equal(daemon.eventsOf('run.started', 'tick').filter((e) => e.seq > missed.seq && Date.parse(e.time) < Date.parse(next.at)).length, 0)
        }
      } finally {
        await daemon?.cleanup()
        await home.remove()
      }
    })
  }
})
