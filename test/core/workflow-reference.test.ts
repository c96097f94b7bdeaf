// Property: over random dependency graphs (random prerequisites, outcomes and slots), the core agrees
// with a naive reference: a task runs once, only after each of its prerequisites succeeded, and is
// skipped exactly when one of them did not succeed.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { TaskEvent } from '../../src/core/types.js'
import { CoreDriver, NO_LIMITS, spec, T0, UNKNOWN_RESOURCES } from '../helpers/core-driver.js'

interface Node { after: number[]; succeeds: boolean }

const graph = fc.integer({ min: 1, max: 9 }).chain((n) =>
  fc.tuple(...Array.from({ length: n }, (_, i) => fc.record({
    after: fc.subarray(Array.from({ length: i }, (_, j) => j)),
    succeeds: fc.boolean(),
  }))),
)

/** The reference: what should become of each task, by plain recursion over the graph. */
function expected(nodes: readonly Node[]): string[] {
  const memo = new Map<number, string>()
  const fate = (i: number): string => {
    const known = memo.get(i)
    if (known !== undefined) return known
    const node = nodes[i] as Node
    const result = node.after.every((j) => fate(j) === 'succeeded') ? (node.succeeds ? 'succeeded' : 'failed') : 'skipped'
    memo.set(i, result)
    return result
  }
  return nodes.map((_, i) => fate(i))
}

describe('workflows against a naive reference', () => {
  it('random graphs: states, one run each, never before a prerequisite succeeded', () => {
    fc.assert(fc.property(graph, fc.integer({ min: 1, max: 3 }), fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6, 7, 8]), (nodes, slots, order) => {
      const d = new CoreDriver()
      const name = (i: number): string => `t${i}`
      // Added in one apply, in a shuffled order: an apply may name tasks it adds later in the file.
      const indices = [...order.filter((i) => i < nodes.length), ...nodes.map((_, i) => i).filter((i) => !order.includes(i))]
      const specs = indices.map((i) => spec(name(i), { after: (nodes[i] as Node).after.map(name), retries: 0 }))
      d.dispatch({ type: 'apply', now: d.now, specs, prune: false })
      const limits = { ...NO_LIMITS, maxConcurrent: slots }
      for (let step = 0; step < 100; step += 1) {
        d.advance(1000)
        d.startDue(UNKNOWN_RESOURCES, limits)
        const running = [...d.state.running]
        if (running.length === 0 && d.state.ready.size === 0) break
        for (const task of running) {
          const i = Number(task.spec.name.slice(1))
          d.exit(task.spec.name, { code: (nodes[i] as Node).succeeds ? 0 : 1 })
        }
      }
      assert.deepEqual(nodes.map((_, i) => d.task(name(i)).state), expected(nodes))
      const seqOf = (type: TaskEvent['type'], task: string): number[] => d.log.filter((e) => e.type === type && e.task === task).map((e) => e.seq)
      nodes.forEach((node, i) => {
        const starts = seqOf('run.started', name(i))
        assert.ok(starts.length <= 1, `${name(i)} ran once at most`)
        for (const j of node.after) {
          const success = seqOf('task.succeeded', name(j))
          if (starts.length === 1) assert.ok(success.length === 1 && (success[0] as number) < (starts[0] as number), `${name(i)} after ${name(j)}`)
        }
      })
      assert.ok(d.now < T0 + 100 * 1000, 'settled')
    }), { numRuns: 300 })
  })
})
