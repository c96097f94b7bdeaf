// Workflows on a fake clock: `after` (due once every prerequisite succeeded in the cycle; skipped down
// the chain when one cannot), cron interplay, `at: manual`, triggers (`onSuccess`, `onFailure`, the
// daemon's default), and the graph checks (unknown names, cycles).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { waitingReason } from '../../src/core/admission.js'
import { forecast } from '../../src/core/forecast.js'
import { taskView } from '../../src/core/view.js'
import type { TaskEvent } from '../../src/core/types.js'
import { brief, CoreDriver, NO_LIMITS, spec, T0, UNKNOWN_RESOURCES } from '../helpers/core-driver.js'

const MIN = 60_000
type Of<T extends TaskEvent['type']> = Extract<TaskEvent, { type: T }>
const reason = (d: CoreDriver, name: string): string | null => waitingReason(d.state, d.task(name), UNKNOWN_RESOURCES, NO_LIMITS, null)

/** backup -> report -> publish, all due at T0. */
function chain(retries = 0): CoreDriver {
  const d = new CoreDriver()
  d.add('backup', { retries })
  d.add('report', { after: ['backup'] })
  d.add('publish', { after: ['report'] })
  return d
}

describe('after', () => {
  it('a task waits for its prerequisite, says so, and is due once it succeeded', () => {
    const d = chain()
    assert.deepEqual(brief(d.clockAt(T0).events), ['task.awaiting report', 'task.awaiting publish'])
    assert.equal(reason(d, 'report'), 'after "backup"')
    assert.deepEqual(d.startDue(), ['backup'])
    d.advance(MIN)
    const done = d.exit('backup')
    assert.deepEqual(brief(done.events), ['run.exited backup', 'task.succeeded backup', 'task.due report'])
    assert.equal((done.events[2] as Of<'task.due'>).reason, 'after')
    assert.deepEqual(d.startDue(), ['report'])
    assert.deepEqual(brief(d.exit('report').events).slice(-1), ['task.due publish'])
    assert.deepEqual(d.startDue(), ['publish'])
  })

  it('waits for every prerequisite; one that succeeded in the cycle before its date needs no wait', () => {
    const d = new CoreDriver()
    d.add('a')
    d.add('b')
    d.add('both', { after: ['a', 'b'], at: T0 + 10 * MIN })
    d.startDue()
    d.exit('a')
    assert.equal(d.task('both').awaiting, false, 'its date has not come')
    d.advance(MIN)
    d.exit('b')
    assert.deepEqual(brief(d.clockAt(T0 + 10 * MIN).events), ['task.due both'])
  })

  it('a prerequisite that fails for good skips the tasks after it, down the chain; retries do not', () => {
    const d = chain(1)
    d.clockAt(T0)
    d.startDue()
    const retry = d.fail('backup')
    assert.deepEqual(brief(retry.events), ['run.exited backup', 'task.retrying backup'], 'a retry keeps them waiting')
    d.advance(10 * MIN)
    d.startDue()
    const failed = d.fail('backup')
    const events = failed.events.filter((e) => e.type !== 'task.priority')
    assert.deepEqual(brief(events), ['run.exited backup', 'task.failed backup', 'task.skipped report', 'task.skipped publish'])
    const [report, publish] = events.slice(2) as Of<'task.skipped'>[]
    assert.deepEqual([report?.after, report?.reason], ['backup', 'failed'])
    assert.deepEqual([publish?.after, publish?.reason], ['report', 'skipped'])
    assert.equal(d.task('publish').state, 'skipped')
    assert.deepEqual(d.startDue(), [])
  })

  it('a prerequisite stopped or removed skips them too, naming why', () => {
    const d = chain()
    d.clockAt(T0)
    d.dispatch({ type: 'stop', now: d.now, name: 'backup' })
    assert.deepEqual((d.log.filter((e) => e.type === 'task.skipped') as Of<'task.skipped'>[]).map((e) => `${e.task} ${e.reason}`), ['report stopped', 'publish skipped'])
    const e = chain()
    e.clockAt(T0)
    e.dispatch({ type: 'remove', now: e.now, name: 'backup' })
    assert.equal((e.log.find((x) => x.type === 'task.skipped') as Of<'task.skipped'>).reason, 'removed')
  })

  it('a task after two that are skipped together is skipped once', () => {
    const d = new CoreDriver()
    d.add('root', { retries: 0 })
    d.add('left', { after: ['root'] })
    d.add('right', { after: ['root'] })
    d.add('join', { after: ['left', 'right'] })
    d.clockAt(T0)
    d.startDue()
    const failed = d.fail('root')
    assert.deepEqual(brief(failed.events).filter((e) => e.startsWith('task.skipped')).sort(), ['task.skipped join', 'task.skipped left', 'task.skipped right'])
  })

  it('an apply that prunes a prerequisite and the task after it skips nothing', () => {
    const d = chain()
    d.clockAt(T0)
    const pruned = d.dispatch({ type: 'apply', now: d.now, specs: [spec('publish', { after: [] })], prune: true })
    assert.deepEqual(brief(pruned.events).filter((e) => !e.startsWith('task.removed')), ['task.updated publish', 'task.due publish'])
  })

  it('a prerequisite that finished before the cycle began will not succeed in it: skipped at its date', () => {
    const d = new CoreDriver()
    d.add('backup')
    d.startDue()
    d.exit('backup')
    d.advance(MIN)
    d.add('report', { after: ['backup'], at: d.now })
    const at = d.clockAt(d.now)
    assert.deepEqual(brief(at.events), ['task.skipped report'])
    assert.equal((at.events[0] as Of<'task.skipped'>).reason, 'finished')
  })

  it('run makes a waiting task due at once, whatever its prerequisites', () => {
    const d = chain()
    d.clockAt(T0)
    d.dispatch({ type: 'run', now: d.now, name: 'publish' })
    assert.ok(d.startDue().includes('publish'))
  })

  it('cron: a prerequisite\'s success since the previous slot counts, so a late run does not shift the next', () => {
    const d = new CoreDriver()
    d.add('backup', { cron: '0 * * * *', at: T0, retries: 0 })
    d.add('report', { cron: '5 * * * *', at: T0 + 5 * MIN, after: ['backup'] })
    d.startDue()
    d.advance(MIN)
    d.exit('backup')
    assert.deepEqual(brief(d.clockAt(T0 + 5 * MIN).events), ['task.due report'])
    d.startDue()
    d.advance(MIN)
    d.exit('report')
    // 01:00 backup fails: report at 01:05 waits for the next backup (02:00), and runs then, late.
    d.clockAt(T0 + 60 * MIN)
    d.startDue()
    d.fail('backup')
    assert.deepEqual(brief(d.clockAt(T0 + 65 * MIN).events), ['task.awaiting report'])
    d.clockAt(T0 + 120 * MIN)
    d.startDue()
    d.advance(MIN)
    assert.deepEqual(brief(d.exit('backup').events).slice(-1), ['task.due report'])
    d.startDue()
    d.advance(MIN)
    d.exit('report')
    // Its 02:05 slot counts the 02:01 backup: due on time.
    assert.deepEqual(brief(d.clockAt(T0 + 125 * MIN).events), ['task.due report'])
  })

  it('a cron task whose prerequisite cannot succeed skips the slot and waits for the next', () => {
    const d = new CoreDriver()
    d.add('once', { retries: 0 })
    d.add('hourly', { cron: '5 * * * *', at: T0 + 5 * MIN, after: ['once'] })
    d.startDue()
    d.fail('once')
    const at = d.clockAt(T0 + 5 * MIN)
    assert.deepEqual(brief(at.events), ['task.skipped hourly', 'task.scheduled hourly'])
    assert.equal((at.events[1] as Of<'task.scheduled'>).at, new Date(T0 + 65 * MIN).toISOString())
  })
})

describe('at: manual', () => {
  it('is never due by its date; run makes it due', () => {
    const d = new CoreDriver()
    d.add('by-hand', { manual: true })
    assert.equal(d.nextEventAt(), null)
    assert.deepEqual(brief(d.clockAt(T0 + 60 * MIN).events), [])
    assert.deepEqual(d.startDue(), [])
    d.dispatch({ type: 'run', now: d.now, name: 'by-hand' })
    assert.deepEqual(d.startDue(), ['by-hand'])
  })
})

describe('the forecast and views of workflow tasks', () => {
  it('leave out a manual task and one whose prerequisites have not succeeded; a met one is placed', () => {
    const d = new CoreDriver()
    d.add('backup', { at: T0 + 10 * MIN })
    d.add('report', { after: ['backup'], at: T0 + 20 * MIN })
    d.add('by-hand', { manual: true })
    const options = { horizonMs: 60 * MIN, unknownMs: MIN, slots: 3, limits: NO_LIMITS }
    const placed = (): string[] => forecast(d.state, d.now, options).rows.map((r) => r.task).sort()
    assert.deepEqual(placed(), ['backup'])
    assert.equal(taskView(d.task('by-hand'), null).nextRunAt, null, 'no next run until asked')
    d.clockAt(T0 + 10 * MIN)
    d.startDue()
    d.advance(MIN)
    d.exit('backup')
    assert.deepEqual(placed(), ['report'], 'its prerequisite met: placed at its date')
  })
})

describe('triggers', () => {
  it('onSuccess makes its targets due with what triggered them; a running target is left alone', () => {
    const d = new CoreDriver()
    d.add('alert', { manual: true })
    d.add('busy', { manual: true })
    d.add('job', { onSuccess: ['alert', 'busy'] })
    d.dispatch({ type: 'run', now: d.now, name: 'busy' })
    d.startDue()
    d.advance(MIN)
    const done = d.exit('job')
    assert.deepEqual(brief(done.events), ['run.exited job', 'task.succeeded job', 'task.triggered alert'])
    const triggered = done.events[2] as Of<'task.triggered'>
    assert.deepEqual(triggered.trigger, { task: 'job', outcome: 'succeeded', exitCode: 0 })
    assert.deepEqual(d.task('alert').trigger, { task: 'job', outcome: 'succeeded', exitCode: 0, seq: triggered.seq })
    assert.deepEqual(d.startDue(), ['alert'])
  })

  it('onFailure on a final failure and on a missed deadline; the daemon\'s default for tasks that name none', () => {
    const d = new CoreDriver({ config: { defaultOnFailure: ['pager'] } })
    d.add('pager', { manual: true })
    d.add('own', { manual: true })
    d.add('broken', { retries: 0, onFailure: ['own'] })
    d.add('plain', { retries: 0 })
    d.startDue()
    const broken = d.exit('broken', { code: 3 })
    assert.deepEqual(brief(broken.events).slice(-1), ['task.triggered own'])
    assert.deepEqual((broken.events.at(-1) as Of<'task.triggered'>).trigger, { task: 'broken', outcome: 'failed', exitCode: 3 })
    assert.deepEqual(brief(d.fail('plain').events).slice(-1), ['task.triggered pager'])
    d.exit('own')
    d.exit('pager')
    d.add('late', { deadline: T0 + 10 * MIN, manual: true })
    const missed = d.clockAt(T0 + 10 * MIN).events.filter((e) => e.type !== 'task.priority')
    assert.deepEqual(brief(missed), ['task.deadline-missed late', 'task.triggered pager'])
    assert.equal((missed[1] as Of<'task.triggered'>).trigger.outcome, 'deadline-missed')
  })

  it('the pager failing does not trigger itself', () => {
    const d = new CoreDriver({ config: { defaultOnFailure: ['pager'] } })
    d.add('pager', { retries: 0 })
    d.startDue()
    assert.deepEqual(brief(d.fail('pager').events), ['run.exited pager', 'task.failed pager'])
  })
})

describe('the graph', () => {
  it('refuses a name that exists nowhere, and a cycle, naming them', () => {
    const d = new CoreDriver()
    assert.throws(() => d.add('report', { after: ['bakup'] }), /report\.after: no task named "bakup"/)
    assert.throws(() => d.add('x', { onSuccess: ['nobody'] }), /x\.onSuccess: no task named "nobody"/)
    d.add('a')
    d.add('b', { after: ['a'] })
    const specs = [spec('a', { after: ['b'] }), spec('b', { after: ['a'] })]
    assert.throws(() => d.dispatch({ type: 'apply', now: d.now, specs, prune: false }), /after: "a" -> "b" -> "a" is a cycle/)
    assert.equal(d.task('a').spec.after.length, 0, 'nothing changed')
  })

  it('an apply may name tasks it adds itself, in any order', () => {
    const d = new CoreDriver()
    const specs = [spec('report', { after: ['backup'] }), spec('backup', { onFailure: ['report'] })]
    d.dispatch({ type: 'apply', now: d.now, specs, prune: false })
    assert.deepEqual([...(d.state.dependents.get('backup') ?? [])], ['report'])
  })
})
