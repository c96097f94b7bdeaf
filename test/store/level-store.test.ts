// The LevelDB store: the shared contract, plus what only a real database shows (reopen, lock, crash).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { DomainError } from '../../src/core/errors.js'
import { LevelStore } from '../../src/store/level-store.js'
import type { TaskEvent, TaskSpec } from '../../src/core/types.js'
import type { StoredTask } from '../../src/store/store.js'
import { addedEvent, dueEvent, sampleSpec, sampleTask } from '../helpers/sample-records.js'
import { tempDir } from '../helpers/temp-dir.js'
import { storeContract } from './store-contract.js'

storeContract('level', {
  async open() {
    const dir = await tempDir()
    const store = await LevelStore.open(join(dir.path, 'db'))
    return { store, dispose: async () => { await store.close(); await dir.remove() } }
  },
})

/** A store on a fresh folder for one test, closed and removed afterwards. */
async function withOpenStore(body: (store: LevelStore) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  const store = await LevelStore.open(join(dir.path, 'db'))
  try {
    await body(store)
  } finally {
    await store.close()
    await dir.remove()
  }
}

describe('LevelStore on disk', () => {
  it('keeps records, history and lastSeq across close and reopen', async () => {
    const dir = await tempDir()
    try {
      const path = join(dir.path, 'db')
      const first = await LevelStore.open(path)
      await first.commit([addedEvent(1, 'a'), dueEvent(2, 'a')], [sampleTask('a', { state: 'ready' })], [])
      await first.close()
      const second = await LevelStore.open(path)
      assert.equal(second.lastSeq, 2)
      assert.equal((await second.loadTasks())[0]?.state, 'ready')
      assert.deepEqual((await second.history({ task: 'a', limit: 10 })).map((e) => e.type), ['task.added', 'task.due'])
      await second.close()
    } finally {
      await dir.remove()
    }
  })

  it('loads every task record across many pages, exactly once each, and none of another sublevel', async () => {
    const dir = await tempDir()
    try {
      const path = join(dir.path, 'db')
      const first = await LevelStore.open(path)
      const names = Array.from({ length: 2500 }, (_, i) => `t-${String(i).padStart(4, '0')}`)
      for (let i = 0; i < names.length; i += 500) {
        const part = names.slice(i, i + 500)
        await first.commit(part.map((name, j) => addedEvent(i + j + 1, name)), part.map((name) => sampleTask(name)), [])
      }
      await first.close()
      const second = await LevelStore.open(path)
      const loaded = await second.loadTasks()
      assert.deepEqual(loaded.map((t) => t.spec.name), names)
      assert.ok(loaded.every((t) => !('v' in t)), 'the version field stays in the store')
      await second.close()
    } finally {
      await dir.remove()
    }
  })

  it('refuses a second opener of the same database with a conflict naming the folder', async () => {
    const dir = await tempDir()
    const path = join(dir.path, 'db')
    const first = await LevelStore.open(path)
    try {
      await assert.rejects(LevelStore.open(path), (error: unknown) =>
        error instanceof DomainError && error.code === 'conflict' && error.message.includes(path))
    } finally {
      await first.close()
      await dir.remove()
    }
  })

  it('writes each record once with its own definition, whatever the order of the events that carry them', () => withOpenStore(async (store) => {
    // Records share their definition objects with the events, as the dispatcher's do. 'b' is added,
    // then updated in the same batch, so its record holds the second definition; 'a''s record waits
    // behind 'b' and 'c' while later definitions are encoded; 'x' has no event with a definition.
    const task = (name: string, at: number): StoredTask => sampleTask(name, { spec: sampleSpec(name, { at, digest: `d-${name}-${at}` }), dueAt: at })
    const [x, a, b1, b2, c] = [task('x', 1), task('a', 2), task('b', 3), task('b', 4), task('c', 5)]
    const carrying = (seq: number, record: StoredTask): TaskEvent => ({ ...addedEvent(seq, record.spec.name), spec: record.spec }) as TaskEvent
    const events = [carrying(1, a), dueEvent(2, 'x'), carrying(3, b1), { ...carrying(4, b2), type: 'task.updated' } as TaskEvent, carrying(5, c)]
    await store.commit(events, [b2, c, a, x], [])
    const loaded = new Map((await store.loadTasks()).map((t) => [t.spec.name, t]))
    assert.deepEqual([...loaded.keys()].sort(), ['a', 'b', 'c', 'x'])
    for (const expected of [x, a, b2, c]) assert.deepEqual(loaded.get(expected.spec.name), expected)
    assert.deepEqual((await store.history({ limit: 10 })).map((e) => (e as { spec?: TaskSpec }).spec?.at ?? null), [2, null, 3, 4, 5])
  }))

  it('records come out the same when each one follows its event (the order an apply writes them in)', () => withOpenStore(async (store) => {
    const records = ['p', 'q', 'r'].map((name, i) => sampleTask(name, { spec: sampleSpec(name, { priority: 'high', retries: i }), priority: 'high', queuedSeq: i + 1 }))
    await store.commit(records.map((r, i) => ({ ...addedEvent(i + 1, r.spec.name), spec: r.spec }) as TaskEvent), records, [])
    assert.deepEqual(await store.loadTasks(), records)
  }))

  it('writes nothing of a batch that fails part-way', () => withOpenStore(async (store) => {
    await store.commit([addedEvent(1, 'a')], [sampleTask('a')], [])
    // A value that cannot be encoded fails the batch after its first operations were queued.
    const poisoned = { ...sampleTask('b'), peakMemory: 1n } as never
    await assert.rejects(store.commit([addedEvent(2, 'b')], [sampleTask('c'), poisoned], []))
    assert.equal(store.lastSeq, 1)
    assert.deepEqual((await store.loadTasks()).map((t) => t.spec.name), ['a'])
    assert.deepEqual((await store.history({ limit: 10 })).map((e) => e.seq), [1])
  }))

  it('after a kill -9 in the middle of writing, every task record matches the event log', async () => {
    const dir = await tempDir()
    const path = join(dir.path, 'db')
    try {
      const writer = spawn(process.execPath, [fileURLToPath(new URL('../helpers/store-writer.js', import.meta.url)), path], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      // Let it write a few hundred batches, then kill it without warning.
      await new Promise<void>((resolve) => {
        let seen = 0
        writer.stdout.on('data', (chunk: Buffer) => {
          seen += chunk.toString().split('\n').length - 1
          if (seen >= 300) resolve()
        })
      })
      const exited = new Promise((resolve) => writer.once('exit', resolve))
      writer.kill('SIGKILL')
      await exited
      const store = await LevelStore.open(path)
      const tasks = await store.loadTasks()
      const events = await store.history({ limit: 100_000 })
      assert.ok(events.length >= 300)
      // A crash leaves the seq reservation ahead of the log: the next seq skips, never repeats.
      assert.ok(store.lastSeq >= (events.at(-1)?.seq ?? 0))
      events.forEach((event, i) => assert.equal(event.seq, i + 1, 'no seq is missing or repeated'))
      // The writer stores in each record the seq of the event written in the same batch.
      for (const task of tasks) {
        const last = events.filter((e) => e.task === task.spec.name).at(-1)
        assert.equal(task.queuedSeq, last?.seq, `record of ${task.spec.name} matches its last event`)
      }
      await store.close()
    } finally {
      await dir.remove()
    }
  })
})
