// IndexedHeap: push/pop/remove/update keep min-heap order and positions; ordered() walks it without change.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { IndexedHeap } from '../../src/core/heap.js'

interface Item {
  key: number
  id: number
  pos: number
}

const item = (key: number, id = key): Item => ({ key, id, pos: -1 })

function heap(): IndexedHeap<Item> {
  return new IndexedHeap<Item>((a, b) => a.key < b.key || (a.key === b.key && a.id < b.id), {
    get: (i) => i.pos,
    set: (i, pos) => (i.pos = pos),
  })
}

function drain(h: IndexedHeap<Item>): number[] {
  const keys: number[] = []
  for (let top = h.pop(); top !== undefined; top = h.pop()) keys.push(top.key)
  return keys
}

test('pop returns items smallest first and empties the heap', () => {
  const h = heap()
  for (const key of [5, 3, 8, 1, 9, 2, 7]) h.push(item(key))
  assert.equal(h.size, 7)
  assert.equal(h.peek()?.key, 1)
  assert.deepEqual(drain(h), [1, 2, 3, 5, 7, 8, 9])
  assert.equal(h.size, 0)
  assert.equal(h.peek(), undefined)
  assert.equal(h.pop(), undefined)
})

test('popped and removed items lose their position and membership', () => {
  const h = heap()
  const a = item(1)
  const b = item(2)
  h.push(a)
  h.push(b)
  assert.ok(h.has(a))
  assert.equal(h.pop(), a)
  assert.equal(a.pos, -1)
  assert.equal(h.has(a), false)
  h.remove(b)
  assert.equal(b.pos, -1)
  assert.equal(h.has(b), false)
  assert.equal(h.size, 0)
})

test('remove takes out a middle, the last and the top item and keeps order', () => {
  const h = heap()
  const items = [4, 1, 6, 2, 9, 3, 8, 5].map((k) => item(k))
  for (const i of items) h.push(i)
  const byKey = (k: number): Item => items.find((i) => i.key === k) as Item
  h.remove(byKey(6))
  h.remove(byKey(1))
  h.remove(items.find((i) => i.pos === h.size - 1) as Item)
  const left = drain(h)
  assert.equal(left.length, 5)
  assert.deepEqual(left, [...left].sort((x, y) => x - y))
  assert.ok(!left.includes(6) && !left.includes(1))
})

test('remove of an item not in the heap changes nothing', () => {
  const h = heap()
  h.push(item(1))
  h.push(item(2))
  const stranger = item(0)
  stranger.pos = 0 // a stale position pointing at someone else's slot
  h.remove(stranger)
  assert.deepEqual(drain(h), [1, 2])
})

test('update moves an item up or down after its key changed, and inserts an absent one', () => {
  const h = heap()
  const items = [10, 20, 30, 40, 50].map((k) => item(k))
  for (const i of items) h.push(i)
  const [i10, , i30, , i50] = items as [Item, Item, Item, Item, Item]
  i50.key = 5
  h.update(i50)
  assert.equal(h.peek(), i50)
  i10.key = 45
  h.update(i10)
  i30.key = 1
  h.update(i30)
  const fresh = item(25, 99)
  h.update(fresh)
  assert.ok(h.has(fresh))
  assert.deepEqual(drain(h), [1, 5, 20, 25, 40, 45])
})

test('ordered() yields in order without changing the heap', () => {
  const h = heap()
  for (const key of [7, 3, 9, 1, 5, 8, 2]) h.push(item(key))
  const before = h.size
  assert.deepEqual([...h.ordered()].map((i) => i.key), [1, 2, 3, 5, 7, 8, 9])
  assert.equal(h.size, before)
  assert.deepEqual([...h.ordered()].map((i) => i.key), [1, 2, 3, 5, 7, 8, 9])
  assert.deepEqual(drain(h), [1, 2, 3, 5, 7, 8, 9])
})

test('ordered() stops at the first item that fails the predicate and never asks past it', () => {
  const h = heap()
  for (const key of [7, 3, 9, 1, 5, 8, 2]) h.push(item(key))
  const asked: number[] = []
  const kept = [...h.ordered((i) => (asked.push(i.key), i.key <= 4))].map((i) => i.key)
  assert.deepEqual(kept, [1, 2, 3])
  assert.deepEqual(asked, [1, 2, 3, 5])
  assert.deepEqual([...heap().ordered()], [])
})

type Op = { op: 'push'; key: number } | { op: 'pop' } | { op: 'remove'; at: number } | { op: 'update'; at: number; key: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('push' as const), key: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ op: fc.constant('pop' as const) }),
  fc.record({ op: fc.constant('remove' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('update' as const), at: fc.nat(), key: fc.integer({ min: 0, max: 50 }) }),
)

const sortModel = (m: Item[]): Item[] => [...m].sort((a, b) => a.key - b.key || a.id - b.id)

test('property: any sequence of operations matches a sorted array', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 80 }), fc.nat({ max: 60 }), (ops, cut) => {
      const h = heap()
      let model: Item[] = []
      let nextId = 0
      for (const op of ops) {
        if (op.op === 'push') {
          const i = item(op.key, nextId++)
          h.push(i)
          model.push(i)
        } else if (op.op === 'pop') {
          const expected = sortModel(model)[0]
          assert.equal(h.pop(), expected)
          model = model.filter((i) => i !== expected)
        } else if (model.length > 0) {
          const target = model[op.at % model.length] as Item
          if (op.op === 'remove') {
            h.remove(target)
            model = model.filter((i) => i !== target)
          } else {
            target.key = op.key
            h.update(target)
          }
        }
        assert.equal(h.size, model.length)
        assert.equal(h.peek(), sortModel(model)[0])
        for (const i of model) assert.ok(h.has(i))
      }
      const sorted = sortModel(model)
      assert.deepEqual([...h.ordered()], sorted)
      const limit = sorted[cut % (sorted.length + 1)]?.key ?? Infinity
      assert.deepEqual([...h.ordered((i) => i.key < limit)], sorted.filter((i) => i.key < limit))
      assert.deepEqual(drain(h), sorted.map((i) => i.key))
    }),
    { numRuns: 300 },
  )
})
