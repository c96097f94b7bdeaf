// The behaviour every Store must share (LevelDB now, a shared database later): one suite, run per backend.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Store, StoredTask } from '../../src/store/store.js'
import { addedEvent, dueEvent, sampleTask } from '../helpers/sample-records.js'

export interface StoreFactory {
  /** A fresh, empty store, and a way to dispose of it after the test. */
  open(): Promise<{ store: Store; dispose(): Promise<void> }>
}

export function storeContract(backend: string, factory: StoreFactory): void {
  describe(`Store contract: ${backend}`, () => {
    const withStore = (body: (store: Store) => Promise<void>) => async () => {
      const { store, dispose } = await factory.open()
      try {
        await body(store)
      } finally {
        await dispose()
      }
    }

    it('starts empty at seq 0', withStore(async (store) => {
      assert.equal(store.lastSeq, 0)
      assert.deepEqual(await store.loadTasks(), [])
      assert.deepEqual(await store.history({ limit: 10 }), [])
    }))

    it('commits events and task records together and advances lastSeq', withStore(async (store) => {
      await store.commit([addedEvent(1, 'a'), dueEvent(2, 'a')], [sampleTask('a', { state: 'ready' })], [])
      assert.equal(store.lastSeq, 2)
      const [task] = await store.loadTasks()
      assert.equal(task?.spec.name, 'a')
      assert.equal(task?.state, 'ready')
      assert.deepEqual((await store.history({ limit: 10 })).map((e) => e.seq), [1, 2])
    }))

    it('hands every task record to forEachTask once, as loadTasks gives them', withStore(async (store) => {
      await store.commit([addedEvent(1, 'a'), addedEvent(2, 'b')], [sampleTask('a', { state: 'ready', attempts: 2 }), sampleTask('b')], [])
      const visited: StoredTask[] = []
      await store.forEachTask((task) => visited.push(task))
      assert.deepEqual(visited, await store.loadTasks())
      assert.deepEqual(visited.map((t) => [t.spec.name, t.state, t.attempts]), [['a', 'ready', 2], ['b', 'scheduled', 0]])
    }))

    it('gives the latest N events oldest first, for all tasks or for one', withStore(async (store) => {
      for (let seq = 1; seq <= 12; seq += 1) {
        const name = seq % 2 === 0 ? 'even' : 'odd'
        await store.commit([dueEvent(seq, name)], [], [])
      }
      assert.deepEqual((await store.history({ limit: 3 })).map((e) => e.seq), [10, 11, 12])
      assert.deepEqual((await store.history({ task: 'odd', limit: 2 })).map((e) => e.seq), [9, 11])
      assert.deepEqual((await store.history({ task: 'even', limit: 100 })).map((e) => e.seq), [2, 4, 6, 8, 10, 12])
      assert.deepEqual(await store.history({ task: 'none', limit: 5 }), [])
    }))

    it('does not mix up tasks whose names share a prefix', withStore(async (store) => {
      await store.commit([dueEvent(1, 'job'), dueEvent(2, 'job-2'), dueEvent(3, 'job.x')], [], [])
      assert.deepEqual((await store.history({ task: 'job', limit: 10 })).map((e) => e.seq), [1])
    }))

    it('reads events after a seq in pages', withStore(async (store) => {
      await store.commit([1, 2, 3, 4, 5].map((seq) => dueEvent(seq, 'a')), [], [])
      assert.deepEqual((await store.eventsAfter(2, 2)).map((e) => e.seq), [3, 4])
      assert.deepEqual((await store.eventsAfter(5, 10)), [])
    }))

    it('deletes removed task records but keeps their history', withStore(async (store) => {
      await store.commit([addedEvent(1, 'a'), addedEvent(2, 'b')], [sampleTask('a'), sampleTask('b')], [])
      await store.commit([{ ...dueEvent(3, 'a'), type: 'task.removed' } as never], [], ['a'])
      assert.deepEqual((await store.loadTasks()).map((t) => t.spec.name), ['b'])
      assert.deepEqual((await store.history({ task: 'a', limit: 10 })).map((e) => e.seq), [1, 3])
    }))

    it('groups failed runs by task, cause and fingerprint, ignoring successes and interruptions', withStore(async (store) => {
      const exited = (seq: number, task: string, outcome: string, code: number | null, fingerprint?: string) => ({
        seq, time: new Date(Date.UTC(2026, 10, 27) + seq * 1000).toISOString(), type: 'run.exited', task, code, signal: null,
        outcome, durationMs: 5, ...(fingerprint === undefined ? {} : { fingerprint, stderr: `boom ${fingerprint}` }),
      }) as never
      await store.commit([exited(1, 'a', 'failed', 2, 'f1'), exited(2, 'a', 'succeeded', 0)], [], [])
      await store.commit([exited(3, 'a', 'failed', 2, 'f1'), exited(4, 'a', 'failed', 2, 'f2'), exited(5, 'b', 'interrupted', null)], [], [])
      await store.commit([exited(6, 'a', 'timeout', null, 'f1')], [], [])
      const groups = (await store.errors()).sort((x, y) => x.firstSeen.localeCompare(y.firstSeen))
      assert.deepEqual(groups.map((g) => [g.task, g.cause, g.fingerprint, g.count]), [
        ['a', 'exit 2', 'f1', 2], ['a', 'exit 2', 'f2', 1], ['a', 'timeout', 'f1', 1],
      ])
      const first = groups[0]
      assert.equal(first?.firstSeen, new Date(Date.UTC(2026, 10, 27) + 1000).toISOString())
      assert.equal(first?.lastSeen, new Date(Date.UTC(2026, 10, 27) + 3000).toISOString())
      assert.equal(first?.stderr, 'boom f1')
    }))

    it('counts two failures of one group in one batch twice, on top of what earlier batches counted', withStore(async (store) => {
      const failed = (seq: number) => ({
        seq, time: new Date(Date.UTC(2026, 10, 27) + seq * 1000).toISOString(), type: 'run.exited', task: 'a', code: 1, signal: null,
        outcome: 'failed', durationMs: 5, fingerprint: 'f', stderr: 'boom',
      }) as never
      await store.commit([failed(1)], [], [])
      await store.commit([failed(2), failed(3)], [], [])
      const [group] = await store.errors()
      assert.equal(group?.count, 3)
      assert.equal(group?.lastSeen, new Date(Date.UTC(2026, 10, 27) + 3000).toISOString())
    }))

    it('compacts the oldest events down to a number kept, in chunks, keeping seq, records and failure counts', withStore(async (store) => {
      const failed = (seq: number) => ({ ...dueEvent(seq, 'a'), type: 'run.exited', pid: 1, code: 2, signal: null, outcome: 'failed', durationMs: 1 }) as never
      await store.commit([addedEvent(1, 'a'), failed(2), ...[3, 4, 5, 6, 7, 8, 9, 10].map((seq) => dueEvent(seq, seq % 2 === 0 ? 'a' : 'b'))], [sampleTask('a')], [])
      assert.equal(await store.compact(4, 2), 2, 'at most a chunk a call')
      assert.equal(await store.firstSeq(), 3)
      assert.equal(await store.compact(4, 100), 4)
      assert.equal(await store.compact(4, 100), 0, 'nothing more to do')
      assert.equal(await store.firstSeq(), 7)
      assert.equal(store.lastSeq, 10)
      assert.deepEqual((await store.history({ limit: 100 })).map((e) => e.seq), [7, 8, 9, 10])
      assert.deepEqual((await store.history({ task: 'a', limit: 100 })).map((e) => e.seq), [8, 10])
      assert.deepEqual((await store.eventsAfter(0, 100)).map((e) => e.seq), [7, 8, 9, 10])
      assert.equal((await store.loadTasks()).length, 1)
      assert.deepEqual((await store.errors()).map((g) => g.count), [1], 'failure counts outlive the events')
    }))

    it('stores, lists and deletes tokens', withStore(async (store) => {
      const token = { id: 't1', hash: 'ab'.repeat(32), scope: 'read' as const, name: 'dash', created: '2026-11-27T00:00:00.000Z' }
      await store.putToken(token)
      await store.putToken({ ...token, id: 't2', scope: 'admin' })
      assert.deepEqual((await store.tokens()).map((t) => [t.id, t.scope]).sort(), [['t1', 'read'], ['t2', 'admin']])
      assert.equal(await store.deleteToken('t1'), true)
      assert.equal(await store.deleteToken('t1'), false)
      assert.deepEqual((await store.tokens()).map((t) => t.id), ['t2'])
    }))

    it('keeps small values by key: absent is null, a put replaces', withStore(async (store) => {
      assert.equal(await store.getValue('notify:abc'), null)
      await store.putValue('notify:abc', { seq: 12 })
      await store.putValue('notify:abc', { seq: 13 })
      await store.putValue('other', [1, 'two'])
      assert.deepEqual(await store.getValue('notify:abc'), { seq: 13 })
      assert.deepEqual(await store.getValue('other'), [1, 'two'])
      assert.equal(store.lastSeq, 0, 'values are not events')
    }))

    it('stores records as data: later changes to the caller\'s objects do not leak in', withStore(async (store) => {
      const task = sampleTask('a')
      await store.commit([addedEvent(1, 'a')], [task], [])
      task.state = 'failed'
      assert.equal((await store.loadTasks())[0]?.state, 'scheduled')
    }))
  })
}
