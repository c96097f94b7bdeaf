// End to end: missed deadlines with real processes. A run still going at its deadline with
// `onDeadline: kill` is ended (outcome deadline, no retry); a task not started by its deadline with
// `skip` expires; each miss is an event and a row in `ctl errors`.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'

interface ErrorRow { task: string; cause: string; count: number }

describe('deadlines and onDeadline', () => {
  const suite = daemonForSuite(['--max-concurrent', '1', '--max-cpu', '100', '--min-free-memory', '0', '--kill-timeout', '1s'])

  it('kill: the run still going at its deadline is ended, outcome deadline, not retried, both in errors', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    await daemon.add('overrun', ['--script', fixture('sleep.sh'), '--deadline', '+2s', '--on-deadline', 'kill', '--retries', '3', '--', '30'])
    const started = await daemon.waitForType('run.started', 'overrun')
    const missed = await daemon.waitForType('task.deadline-missed', 'overrun')
    const exited = await daemon.waitForType('run.exited', 'overrun')
    assert.equal(exited.pid, started.pid)
    assert.equal(exited.outcome, 'deadline')
    assert.match(exited.cause ?? '', /^killed at its deadline /)
    assert.ok(Date.parse(exited.time) - Date.parse(missed.deadline) < 3000, 'ended right at its deadline')
    await daemon.waitForType('task.failed', 'overrun')
    assert.equal((await daemon.task('overrun')).state, 'failed')
    const errors = JSON.parse((await daemon.ctl(['errors', '--json'])).stdout) as ErrorRow[]
    assert.deepEqual(errors.filter((e) => e.task === 'overrun').map((e) => e.cause).sort(), ['killed at its deadline', 'missed its deadline'])
  })

  it('skip: a task not started by its deadline expires and never runs; a run goes on late with run', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    await daemon.add('blocker', ['--script', fixture('sleep.sh'), '--priority', 'high', '--', '4'])
    await daemon.waitForType('run.started', 'blocker')
    await daemon.add('skipped', ['--script', fixture('ok.sh'), '--deadline', '+1s', '--on-deadline', 'skip'])
    await daemon.add('late', ['--script', fixture('ok.sh'), '--deadline', '+1s'])
    await daemon.waitForType('task.expired', 'skipped')
    assert.equal((await daemon.task('skipped')).state, 'expired')
    await daemon.waitForType('task.deadline-missed', 'late')
    await daemon.waitForType('task.succeeded', 'late', () => true, 15_000)
    assert.equal(daemon.eventsOf('run.started', 'skipped').length, 0, 'never started')
    const errors = JSON.parse((await daemon.ctl(['errors', '--json'])).stdout) as ErrorRow[]
    assert.ok(errors.some((e) => e.task === 'late' && e.cause === 'missed its deadline'))
  })

  it('refuses skip or kill without a deadline, and on a cron task, naming onDeadline', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    const none = await daemon.ctl(['add', 'x', '--script', fixture('ok.sh'), '--on-deadline', 'kill'])
    assert.equal(none.code, 1)
    assert.match(none.stderr, /onDeadline: kill needs a deadline/)
    const cron = await daemon.ctl(['add', 'y', '--script', fixture('ok.sh'), '--cron', '* * * * *', '--deadline', '+1h', '--on-deadline', 'skip'])
    assert.equal(cron.code, 1)
    assert.match(cron.stderr, /onDeadline: skip applies to a one-shot task/)
    const bad = await daemon.ctl(['add', 'z', '--script', fixture('ok.sh'), '--deadline', '+1h', '--on-deadline', 'later'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /onDeadline: expected run\|skip\|kill/)
  })
})
