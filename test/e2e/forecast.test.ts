// End to end: a sense of time with real processes. Durations learned from runs, the forecast of the
// queue (`ctl forecast`, and each task's expectedStart/expectedEnd/atRisk), slack-based urgency.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'

interface Row { task: string; start: string; end: string | null; deadline: string | null; atRisk: boolean; running: boolean }

describe('forecast and learned durations', () => {
  const suite = daemonForSuite(['--max-concurrent', '1', '--max-cpu', '100', '--min-free-memory', '0'])

  it('learns how long a task takes from its successful run', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    await daemon.add('quick', ['--script', fixture('sleep.sh'), '--expect', '1h', '--', '0.5'])
    assert.equal((await daemon.task('quick')).expectedDurationMs, 3_600_000, 'its expect, before any run')
    await daemon.waitForType('task.succeeded', 'quick')
    const learned = (await daemon.task('quick')).expectedDurationMs as number
    assert.ok(learned >= 450 && learned < 3000, `learned from the 0.5 s run: ${learned} ms`)
    const status = await daemon.ctl(['status', 'quick'])
    assert.match(status.stdout, /^expected: +\d+(ms|s) \(learned from its runs\)$/m)
  })

  it('forecasts the queue on one slot: the running task, then the next at its expected end', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    await daemon.add('busy', ['--script', fixture('sleep.sh'), '--expect', '20s', '--', '20'])
    const started = await daemon.waitForType('run.started', 'busy')
    await daemon.add('next', ['--script', fixture('sleep.sh'), '--expect', '10s', '--', '0.1'])
    await daemon.add('tight', ['--script', fixture('sleep.sh'), '--expect', '30s', '--deadline', '+40s', '--', '0.1'])
    const asked = await daemon.ctl(['forecast', '--json'])
    assert.equal(asked.code, 0, asked.stderr)
    const rows = JSON.parse(asked.stdout) as Row[]
    const byTask = new Map(rows.map((r) => [r.task, r]))
    const busy = byTask.get('busy') as Row
    assert.equal(busy.running, true)
    assert.equal(Date.parse(busy.start), Date.parse(started.time))
    assert.equal(Date.parse(busy.end as string), Date.parse(started.time) + 20_000)
    // `tight` has a deadline: it goes before `next` (earliest deadline first), at busy's end, and
    // would end 50 s from now, 10 s past its deadline.
    assert.deepEqual(rows.map((r) => r.task), ['busy', 'tight', 'next'])
    const tight = byTask.get('tight') as Row
    assert.equal(tight.start, busy.end)
    assert.equal(tight.atRisk, true)
    assert.equal(Date.parse(byTask.get('next')?.start as string), Date.parse(tight.end as string))
    const view = await daemon.task('tight')
    assert.equal(view.expectedStart, tight.start)
    assert.equal(view.expectedEnd, tight.end)
    assert.equal(view.atRisk, true)
    // As text, over two minutes: busy's bar (=) from the start, tight's (#) after it, its deadline (|) inside.
    const text = await daemon.ctl(['forecast', '--horizon', '2m'])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^busy +\S+ \S+ +\S+ \S+ +\[=+ +\]$/m)
    assert.match(text.stdout, /^tight +.*\[ +#*\|#+ +\] ! at risk$/m)
    assert.equal((await daemon.task('quick')).expectedStart, null, 'a finished task has no forecast')
    // The daemon looks ahead every 5 s: the moment it becomes at risk is an event, once.
    const risk = await daemon.waitForType('task.at-risk', 'tight', () => true, 10_000)
    assert.equal(risk.expectedEnd, tight.end)
    assert.equal(daemon.eventsOf('task.at-risk', 'next').length, 0, 'next has no deadline')
  })

  it('a deadline task with too little slack for its expected duration is bumped to high at once', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    await daemon.add('slack', ['--script', fixture('sleep.sh'), '--priority', 'low', '--expect', '1h', '--deadline', '+30m', '--', '0.1'])
    const bumped = await daemon.waitForType('task.priority', 'slack')
    assert.equal(bumped.to, 'high')
    assert.equal(bumped.reason, 'deadline')
  })

  it('refuses a bad horizon, naming it, and an expect that is no duration, naming it', { timeout: 30_000 }, async () => {
    const { daemon } = suite
    const bad = await daemon.ctl(['forecast', '--horizon', 'soon'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /horizon: expected a duration such as 6h/)
    const expect = await daemon.ctl(['add', 'nope', '--script', fixture('ok.sh'), '--expect', 'a while'])
    assert.equal(expect.code, 1)
    assert.match(expect.stderr, /expect/)
    assert.equal((await daemon.ctl(['status', 'nope'])).code, 1, 'nothing was added')
  })
})
