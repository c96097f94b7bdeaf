// A sense of time, first part: how long a task's runs take (learned from its successes, else its
// `expect`), and urgency from slack: a deadline task turns high once the latest start that still ends
// in time, less the urgency window, has come.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { expectedDuration } from '../../src/core/deadline.js'
import { taskView } from '../../src/core/view.js'
import { brief, CoreDriver, T0 } from '../helpers/core-driver.js'

const MIN = 60_000
const HOUR = 60 * MIN
const URGENCY = 5 * MIN

/** Runs `name` once for `ms`, ending with `code`, from the driver's now (it must be due). */
function runFor(d: CoreDriver, name: string, ms: number, code = 0): void {
  assert.deepEqual(d.startDue(), [name])
  d.now += ms
  d.exit(name, { code })
}

describe('expected duration', () => {
  it('is the task\'s expect until a run has succeeded; null when neither', () => {
    const d = new CoreDriver()
    d.add('said', { expectMs: 2 * HOUR })
    d.add('unknown')
    assert.equal(expectedDuration(d.task('said')), 2 * HOUR)
    assert.equal(expectedDuration(d.task('unknown')), null)
    assert.equal(taskView(d.task('said'), null).expectedDurationMs, 2 * HOUR)
  })

  it('is learned from successful runs only: the 90th percentile of the last ten', () => {
    const d = new CoreDriver()
    d.add('job', { expectMs: HOUR, retries: 100 })
    runFor(d, 'job', 9 * MIN, 1)
    assert.equal(expectedDuration(d.task('job')), HOUR, 'a failure teaches nothing')
    for (const minutes of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 30]) {
      d.dispatch({ type: 'run', now: d.now, name: 'job' })
      runFor(d, 'job', minutes * MIN)
    }
    // The last ten: 3..11 and 30 minutes; the 90th percentile by nearest rank is the 9th of ten: 11.
    assert.deepEqual(d.task('job').durations, [3, 4, 5, 6, 7, 8, 9, 10, 11, 30].map((m) => m * MIN))
    assert.equal(expectedDuration(d.task('job')), 11 * MIN)
    assert.equal(taskView(d.task('job'), null).expectedDurationMs, 11 * MIN)
  })
})

describe('slack-based urgency', () => {
  it('a two-hour task due by a deadline turns high two hours and the urgency window before it', () => {
    const d = new CoreDriver()
    d.add('backup', { priority: 'low', at: T0 + HOUR, deadline: T0 + 6 * HOUR, expectMs: 2 * HOUR })
    const opens = T0 + 6 * HOUR - 2 * HOUR - URGENCY
    assert.equal(d.nextEventAt(), T0 + HOUR, 'first it falls due')
    d.clockAt(T0 + HOUR)
    // Held back (no slot): it waits, and the clock wakes it when its slack runs out.
    assert.equal(d.nextEventAt(), opens)
    assert.deepEqual(brief(d.clockAt(opens - 1).events), [])
    const bump = d.clockAt(opens)
    assert.deepEqual(brief(bump.events), ['task.priority backup'])
    assert.equal(d.task('backup').priority, 'high')
  })

  it('without a known duration, the window is the urgency window before the deadline, as before', () => {
    const d = new CoreDriver()
    d.add('plain', { priority: 'low', at: T0 + HOUR, deadline: T0 + 6 * HOUR })
    d.clockAt(T0 + HOUR)
    assert.equal(d.nextEventAt(), T0 + 6 * HOUR - URGENCY)
  })

  it('a task added with less slack than it needs is high at once', () => {
    const d = new CoreDriver()
    const { events } = d.add('late', { priority: 'low', deadline: T0 + HOUR, expectMs: 2 * HOUR })
    assert.deepEqual(brief(events), ['task.added late', 'task.due late', 'task.priority late'])
  })

  it('learned durations move the window of the next cycle', () => {
    const d = new CoreDriver()
    d.add('report', { priority: 'low', deadline: T0 + 24 * HOUR, retries: 0 })
    runFor(d, 'report', 3 * HOUR)
    assert.equal(expectedDuration(d.task('report')), 3 * HOUR)
    // Run again (a new cycle), held back: its window now opens 3 h 5 min before the deadline.
    d.dispatch({ type: 'run', now: d.now, name: 'report' })
    assert.equal(d.nextEventAt(), T0 + 24 * HOUR - 3 * HOUR - URGENCY)
  })
})
