// The start-order rule of DESIGN.md ("Scheduling semantics"), rule by rule and rule against rule.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compareTasks, startsBefore } from '../../src/core/order.js'
import { newTask } from '../../src/core/task-record.js'
import type { Priority, Task } from '../../src/core/types.js'
import { CoreDriver, spec, T0 } from '../helpers/core-driver.js'

interface Shape {
  /** Effective priority (may differ from the base, as after a bump or a demotion). */
  priority?: Priority
  base?: Priority
  front?: boolean
  deadline?: number | null
  dueAt?: number
  seq: number
}

function task(name: string, shape: Shape): Task {
  const t = newTask(spec(name, { priority: shape.base ?? shape.priority ?? 'medium', front: shape.front ?? false, deadline: shape.deadline ?? null }), shape.seq)
  t.priority = shape.priority ?? t.priority
  t.dueAt = shape.dueAt ?? T0
  return t
}

const cases: Array<{ rule: string; first: Shape; second: Shape }> = [
  { rule: 'high before medium', first: { priority: 'high', seq: 2 }, second: { priority: 'medium', seq: 1 } },
  { rule: 'medium before low', first: { priority: 'medium', seq: 2 }, second: { priority: 'low', seq: 1 } },
  { rule: 'high before low', first: { priority: 'high', seq: 2 }, second: { priority: 'low', seq: 1 } },
  { rule: 'effective priority, not the base', first: { base: 'low', priority: 'high', seq: 2 }, second: { base: 'high', priority: 'medium', seq: 1 } },
  { rule: 'front before back', first: { front: true, seq: 2 }, second: { front: false, seq: 1 } },
  { rule: 'latest front insertion first', first: { front: true, seq: 5 }, second: { front: true, seq: 4 } },
  { rule: 'back tasks keep insertion order', first: { front: false, seq: 4 }, second: { front: false, seq: 5 } },
  { rule: 'earliest deadline first', first: { deadline: T0 + 1000, seq: 2 }, second: { deadline: T0 + 2000, seq: 1 } },
  { rule: 'a deadline before none', first: { deadline: T0 + 9e9, seq: 2 }, second: { deadline: null, seq: 1 } },
  { rule: 'earliest due time', first: { dueAt: T0 - 10, seq: 2 }, second: { dueAt: T0, seq: 1 } },
  { rule: 'insertion order', first: { seq: 1 }, second: { seq: 2 } },
  // Each rule outranks every later one.
  { rule: 'priority beats front', first: { priority: 'high', front: false, seq: 1 }, second: { priority: 'medium', front: true, seq: 2 } },
  { rule: 'front beats deadline', first: { front: true, deadline: null, seq: 1 }, second: { deadline: T0, seq: 2 } },
  { rule: 'front beats due time', first: { front: true, dueAt: T0 + 50, seq: 1 }, second: { dueAt: T0, seq: 2 } },
  { rule: 'deadline beats due time', first: { deadline: T0 + 5, dueAt: T0 + 50, seq: 2 }, second: { deadline: T0 + 6, dueAt: T0, seq: 1 } },
  { rule: 'due time beats insertion', first: { dueAt: T0, seq: 9 }, second: { dueAt: T0 + 1, seq: 1 } },
  { rule: 'among fronts, seq beats deadline', first: { front: true, seq: 9 }, second: { front: true, deadline: T0, seq: 1 } },
]

for (const { rule, first, second } of cases) {
  test(`order: ${rule}`, () => {
    const a = task('a', first)
    const b = task('b', second)
    assert.equal(startsBefore(a, b), true)
    assert.equal(startsBefore(b, a), false)
    assert.ok(compareTasks(a, b) < 0)
    assert.ok(compareTasks(b, a) > 0)
  })
}

test('order: a task never starts before itself', () => {
  const a = task('a', { front: true, deadline: null, seq: 3 })
  assert.equal(startsBefore(a, a), false)
  assert.equal(compareTasks(a, a), 0)
})

test('order: the planner starts due tasks in the rule order', () => {
  const d = new CoreDriver()
  d.add('low-old', { priority: 'low', at: T0 - 5000 })
  d.add('plain', {})
  d.add('front-1', { front: true })
  d.add('front-2', { front: true })
  d.add('deadline-late', { deadline: T0 + 3_600_000 })
  d.add('deadline-soon', { deadline: T0 + 1_800_000 })
  d.add('early-due', { at: T0 - 1000 })
  d.add('high', { priority: 'high' })
  d.add('plain-2', {})
  assert.deepEqual(d.plan().effects.map((e) => e.task), [
    'high', 'front-2', 'front-1', 'deadline-soon', 'deadline-late', 'early-due', 'plain', 'plain-2', 'low-old',
  ])
})
