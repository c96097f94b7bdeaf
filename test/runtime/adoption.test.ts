// Boot beside a launcher that kept runs: which runs are re-adopted, which exits recorded, which ended.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { planAdoption } from '../../src/runtime/adoption.js'
import type { LaunchExit, RunInfo } from '../../src/runtime/launcher-protocol.js'
import { CoreDriver } from '../helpers/core-driver.js'

const run = (task: string, pid: number, pidStart: string | null = null): RunInfo => ({ task, pid, pidStart, cgroup: null, startedAt: 1 })
const exit = (task: string, pid: number, code = 0): LaunchExit =>
  ({ task, pid, pidStart: null, startedAt: 1, endedAt: 2, code, signal: null })

test('runs recorded as running: kept ones adopted, ended ones recorded, the rest left to the at-least-once path', () => {
  const d = new CoreDriver()
  for (const name of ['kept', 'ended', 'lost']) d.add(name)
  d.startDue()
  const pid = (name: string): number => d.task(name).pid as number
  const plan = planAdoption(d.state, { runs: [run('kept', pid('kept'))], exits: [exit('ended', pid('ended'), 3)] })
  assert.deepEqual(plan.adopt.map((r) => r.task), ['kept'])
  assert.deepEqual(plan.exits.map((e) => [e.task, e.code]), [['ended', 3]])
  assert.deepEqual([...plan.keep].sort(), ['ended', 'kept'], '"lost" is not kept: boot records it interrupted')
})

test('a run whose start was never recorded belongs to its task while that task waits to start; else it is ended', () => {
  const d = new CoreDriver()
  d.add('waiting')
  d.add('stopped')
  d.dispatch({ type: 'stop', now: d.now, name: 'stopped' })
  const plan = planAdoption(d.state, {
    runs: [run('waiting', 500), run('stopped', 501), run('removed', 502)],
    exits: [],
  })
  assert.deepEqual(plan.unrecorded.map((r) => r.task), ['waiting'])
  assert.deepEqual(plan.orphans.map((r) => r.task), ['stopped', 'removed'])
  assert.ok(plan.keep.includes('waiting'))
})

test('an exit of a run never recorded as started is recorded for a waiting task, and forgotten otherwise', () => {
  const d = new CoreDriver()
  d.add('waiting')
  d.add('done')
  d.dispatch({ type: 'stop', now: d.now, name: 'done' })
  const plan = planAdoption(d.state, { runs: [], exits: [exit('waiting', 600), exit('done', 601), exit('gone', 602)] })
  assert.deepEqual(plan.unrecordedExits.map((e) => e.task), ['waiting'])
  assert.deepEqual(plan.stale.map((e) => e.task), ['done', 'gone'])
})

test('a pid the kernel gave again (another start time) is not the recorded run', () => {
  const d = new CoreDriver()
  d.add('t')
  d.startDue()
  d.task('t').pidStart = '100'
  const plan = planAdoption(d.state, { runs: [run('t', d.task('t').pid as number, '999')], exits: [] })
  assert.deepEqual(plan.adopt, [])
  assert.deepEqual(plan.keep, [], 'its run is not kept: recorded interrupted')
  assert.deepEqual(plan.orphans.map((r) => r.task), ['t'], 'and the stranger with its pid is not adopted either')
})
