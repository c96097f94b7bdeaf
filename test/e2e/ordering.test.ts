// End to end: with one slot, tasks due at the same moment start by priority, front, then deadline urgency.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'

describe('start order with --max-concurrent 1', () => {
  const suite = daemonForSuite(['--max-concurrent', '1', '--max-cpu', '100', '--min-free-memory', '0'])

  /** A shared absolute `at` a moment ahead: every task falls due in the same tick. */
  const sharedAt = (): string => new Date(Date.now() + 2000).toISOString()

  /**
   * Hold the one slot with a sleeper, add the tasks one after the other (insertion order matters), wait
   * until all are due, then free the slot: the queue alone decides the order, however slow the adds were.
   */
  async function queueBehindBlocker(file: string, tasks: { name: string; flags: string[] }[]): Promise<void> {
    const blocker = `block-${tasks[0]?.name ?? ''}`
    const held = await suite.daemon.ctl(['add', blocker, '--script', fixture('sleep.sh'), '--', '120'])
    assert.equal(held.code, 0, held.stderr)
    await suite.daemon.waitForType('run.started', blocker)
    for (const { name, flags } of tasks) {
      const added = await suite.daemon.ctl(['add', name, '--script', fixture('record.sh'), ...flags, '--', file])
      assert.equal(added.code, 0, added.stderr)
    }
    for (const { name } of tasks) await suite.daemon.waitForType('task.due', name)
    const waiting = await suite.daemon.task(tasks[0]?.name ?? '')
    assert.equal(waiting.state, 'ready')
    assert.match(waiting.waitingReason ?? '', /running/, 'a due task says it waits for the busy slot')
    const stopped = await suite.daemon.ctl(['stop', blocker])
    assert.equal(stopped.code, 0, stopped.stderr)
  }

  /** Wait until every task succeeded; return the start order from the file and from run.started events. */
  async function startOrder(file: string, names: string[]): Promise<{ recorded: string[]; started: string[] }> {
    for (const name of names) await suite.daemon.waitForType('task.succeeded', name, () => true, 30_000)
    const recorded = (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '')
    const started = suite.daemon.events.filter((e) => e.type === 'run.started' && names.includes(e.task)).map((e) => e.task)
    return { recorded, started }
  }

  it('starts high, then medium, then low when all fall due together', { timeout: 60_000 }, async () => {
    const file = join(suite.work, 'priority.txt')
    const at = sharedAt()
    // Added lowest first: insertion order alone would give the reverse of the expected order.
    await queueBehindBlocker(file, [
      { name: 'p-low', flags: ['--at', at, '--priority', 'low'] },
      { name: 'p-medium', flags: ['--at', at, '--priority', 'medium'] },
      { name: 'p-high', flags: ['--at', at, '--priority', 'high'] },
    ])
    const { recorded, started } = await startOrder(file, ['p-low', 'p-medium', 'p-high'])
    assert.deepEqual(recorded, ['p-high', 'p-medium', 'p-low'])
    assert.deepEqual(started, ['p-high', 'p-medium', 'p-low'])
  })

  it('puts --front tasks ahead of their priority class, the latest front first, but not ahead of a higher class', { timeout: 60_000 }, async () => {
    const file = join(suite.work, 'front.txt')
    const at = sharedAt()
    await queueBehindBlocker(file, [
      { name: 'f-back1', flags: ['--at', at] },
      { name: 'f-front1', flags: ['--at', at, '--front'] },
      { name: 'f-low-front', flags: ['--at', at, '--priority', 'low', '--front'] },
      { name: 'f-front2', flags: ['--at', at, '--front'] },
      { name: 'f-back2', flags: ['--at', at] },
      { name: 'f-high', flags: ['--at', at, '--priority', 'high'] },
    ])
    const expected = ['f-high', 'f-front2', 'f-front1', 'f-back1', 'f-back2', 'f-low-front']
    const { recorded, started } = await startOrder(file, expected)
    assert.deepEqual(recorded, expected)
    assert.deepEqual(started, expected)
  })

  it('bumps a low task whose deadline is within 5 minutes to high, ahead of a medium one', { timeout: 60_000 }, async () => {
    const file = join(suite.work, 'deadline.txt')
    const at = sharedAt()
    const soon = new Date(Date.parse(at) + 60_000).toISOString()
    const later = new Date(Date.parse(at) + 3_600_000).toISOString()
    await queueBehindBlocker(file, [
      { name: 'd-plain', flags: ['--at', at, '--priority', 'medium'] },
      { name: 'd-far', flags: ['--at', at, '--priority', 'low', '--deadline', later] },
      { name: 'd-urgent', flags: ['--at', at, '--priority', 'low', '--deadline', soon] },
    ])
    const bump = await suite.daemon.waitForType('task.priority', 'd-urgent')
    assert.equal(bump.reason, 'deadline')
    assert.equal(bump.from, 'low')
    assert.equal(bump.to, 'high')
    const urgent = await suite.daemon.task('d-urgent')
    assert.equal(urgent.priority, 'high')
    assert.equal(urgent.basePriority, 'low')
    assert.equal(urgent.deadline, soon)
    const { recorded, started } = await startOrder(file, ['d-plain', 'd-far', 'd-urgent'])
    assert.deepEqual(recorded, ['d-urgent', 'd-plain', 'd-far'])
    assert.deepEqual(started, ['d-urgent', 'd-plain', 'd-far'])
    assert.deepEqual(suite.daemon.eventsOf('task.priority', 'd-far'), [], 'a deadline an hour away bumps nothing')
    assert.equal((await suite.daemon.task('d-far')).priority, 'low')
  })

  it('bumps a waiting task to high when its deadline window opens, without any request', { timeout: 60_000 }, async () => {
    // The window (deadline - 5 min) opens a few seconds from now, while the task is still scheduled.
    const opens = Date.now() + 5000
    const deadline = new Date(opens + 5 * 60_000).toISOString()
    const at = new Date(opens + 5 * 60_000 - 1000).toISOString()
    const added = await suite.daemon.ctl(['add', 'w-window', '--script', fixture('ok.sh'), '--at', at, '--deadline', deadline])
    assert.equal(added.code, 0, added.stderr)
    const addedEvent = await suite.daemon.waitForType('task.added', 'w-window')
    assert.ok(Date.parse(addedEvent.time) < opens, 'setup too slow: added after the window opened')
    const bump = await suite.daemon.waitForType('task.priority', 'w-window')
    assert.equal(bump.reason, 'deadline')
    assert.equal(bump.from, 'medium')
    assert.equal(bump.to, 'high')
    assert.ok(Date.parse(bump.time) >= opens, `bumped at ${bump.time}, before the window opened`)
    const task = await suite.daemon.task('w-window')
    assert.equal(task.priority, 'high')
    assert.equal(task.basePriority, 'medium')
    assert.equal(task.state, 'scheduled')
  })
})
