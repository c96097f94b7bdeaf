// The PostgreSQL store against the shared Store contract, on a throwaway PostgreSQL 15 server; and what
// only it shows: the schema versions, a newer schema refused, a password never printed.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import type { TaskEvent } from '../../src/core/types.js'
import { PgStore, redact } from '../../src/store/pg-store.js'
import { LogConflict } from '../../src/store/store.js'
import { addedEvent, sampleTask } from '../helpers/sample-records.js'
import { pgMissing, startPostgres, type TestPostgres } from '../helpers/postgres.js'
import { waitFor } from '../helpers/wait.js'
import { storeContract } from './store-contract.js'

describe('PostgreSQL store', { skip: pgMissing }, () => {
  let server: TestPostgres
  before(async () => {
    server = await startPostgres()
  })
  after(async () => server?.stop())

  storeContract('postgres', {
    async open() {
      const store = await PgStore.open(await server.createDatabase())
      return { store, dispose: () => store.close() }
    },
  })

  it('reopens where it was: records, seq, error groups', async () => {
    const url = await server.createDatabase()
    const first = await PgStore.open(url)
    await first.commit([addedEvent(1, 'a')], [sampleTask('a')], [])
    await first.close()
    const again = await PgStore.open(url)
    assert.equal(again.lastSeq, 1)
    assert.deepEqual((await again.loadTasks()).map((t) => t.spec.name), ['a'])
    await again.close()
  })

  it('keeps a NUL a run wrote to stderr, in its event and its error group', async () => {
    const url = await server.createDatabase()
    const store = await PgStore.open(url)
    const exited = { seq: 2, time: new Date(0).toISOString(), type: 'run.exited', task: 'a', pid: 7, code: 3, signal: null, outcome: 'failed', durationMs: 5, stderr: 'bad\u0000byte', fingerprint: 'f' } as const
    await store.commit([addedEvent(1, 'a'), exited as unknown as TaskEvent], [sampleTask('a')], [])
    await store.close()
    const again = await PgStore.open(url)
    const [, last] = await again.history({ limit: 10 })
    assert.equal((last as { stderr?: string }).stderr, 'bad\u0000byte')
    assert.equal((await again.errors())[0]?.stderr, 'bad\u0000byte')
    await again.close()
  })

  it('refuses a database whose schema is newer than this release, saying so', async () => {
    const url = await server.createDatabase()
    await (await PgStore.open(url)).close()
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query('INSERT INTO supervisor_schema (version) VALUES (99)')
    await client.end()
    await assert.rejects(PgStore.open(url), /schema is version 99, newer than this release's/)
  })

  it('a shared log: a write decided on an older head is refused whole (LogConflict), and changes nothing', async () => {
    const url = await server.createDatabase()
    const a = await PgStore.open(url, { node: 'a' })
    const b = await PgStore.open(url, { node: 'b' })
    await a.commit([addedEvent(1, 'x')], [sampleTask('x')], [], 0)
    await assert.rejects(b.commit([addedEvent(1, 'y')], [sampleTask('y')], [], 0), (error: unknown) => error instanceof LogConflict && error.head === 1)
    assert.deepEqual((await b.loadTasks()).map((t) => t.spec.name), ['x'])
    assert.equal(await b.head(), 1)
    await b.commit([addedEvent(2, 'y')], [sampleTask('y')], [], 1)
    assert.deepEqual((await a.eventsAfter(0, 10)).map((e) => `${e.seq} ${e.task}`), ['1 x', '2 y'])
    await a.close()
    await b.close()
  })

  it('a shared log: writers racing keep seqs gap-free, and a reader following them never skips one', { timeout: 60_000 }, async () => {
    const url = await server.createDatabase()
    const writers = await Promise.all(['w1', 'w2', 'w3', 'w4'].map((node) => PgStore.open(url, { node })))
    const reader = await PgStore.open(url, { node: 'r' })
    const PER_WRITER = 60
    let stop = false
    const seen: number[] = []
    const follow = (async () => {
      let after = 0
      while (!stop || after < (await reader.head())) {
        for (const event of await reader.eventsAfter(after, 1000)) {
          seen.push(event.seq)
          after = event.seq
        }
      }
    })()
    await Promise.all(writers.map(async (store, w) => {
      for (let i = 0; i < PER_WRITER; i += 1) {
        // As a node does: read the head, decide on it, commit only if it still holds; else again.
        for (;;) {
          const head = await store.head()
          const event = { ...addedEvent(head + 1, `t-${w}-${i}`) }
          try {
            await store.commit([event], [sampleTask(event.task)], [], head)
            break
          } catch (error) {
            if (!(error instanceof LogConflict)) throw error
          }
        }
      }
    }))
    stop = true
    await follow
    const total = writers.length * PER_WRITER
    assert.deepEqual(seen, Array.from({ length: total }, (_, i) => i + 1), 'the reader saw every seq once, in order')
    assert.equal((await reader.loadTasks()).length, total)
    for (const store of [...writers, reader]) await store.close()
  })

  it('one store a node name: a second open of a live name is refused; a closed one is taken over at once', async () => {
    const url = await server.createDatabase()
    const first = await PgStore.open(url, { node: 'n1' })
    await assert.rejects(PgStore.open(url, { node: 'n1' }), /node "n1" is already running on postgres:/)
    const other = await PgStore.open(url, { node: 'n2' })
    await first.close()
    const again = await PgStore.open(url, { node: 'n1' })
    await again.close()
    await other.close()
  })

  it('nodes: registered alive, heartbeats, silent ones marked lost, a fenced heartbeat told so; one lead', async () => {
    const url = await server.createDatabase()
    const a = await PgStore.open(url, { node: 'a' })
    const b = await PgStore.open(url, { node: 'b' })
    const epochA = await a.registerNode('a', { running: 1 })
    const epochB = await b.registerNode('b', { running: 0 })
    assert.deepEqual((await a.nodes()).map((n) => `${n.name} ${n.state}`), ['a alive', 'b alive'])
    assert.equal(await a.heartbeat('a', epochA, { running: 2 }), true)
    assert.deepEqual(await a.lostNodes(60_000), [])
    await new Promise((resolve) => setTimeout(resolve, 1200))
    assert.equal(await b.heartbeat('b', epochB, {}), true)
    const lost = await b.lostNodes(1000)
    assert.deepEqual(lost.map((n) => n.name), ['a'])
    assert.ok((lost[0]?.silentMs ?? 0) >= 1000)
    assert.equal(await a.heartbeat('a', epochA, {}), false, 'a learns it was declared lost')
    assert.equal(await a.registerNode('a', {}), epochA + 1, 'it joins again with a new epoch')
    assert.equal((await b.nodes()).find((n) => n.name === 'a')?.state, 'alive')
    assert.equal(await a.tryLead(), true)
    assert.equal(await b.tryLead(), false, 'one lead at a time')
    assert.equal(await a.tryLead(), true)
    await a.close()
    assert.equal(await b.tryLead(), true, 'the lead passes on when its holder goes')
    await b.close()
  })

  it('an outage of the server: the store takes its node name again and listens again, and nothing crashes', { timeout: 60_000 }, async () => {
    const url = await server.createDatabase()
    const a = await PgStore.open(url, { node: 'n1' })
    const lost: string[] = []
    a.onNameLost = (problem) => lost.push(problem)
    const heads: number[] = []
    await a.onAdvance((head) => heads.push(head))
    await server.pause()
    await server.resume()
    await new Promise((resolve) => setTimeout(resolve, 2500))
    await assert.rejects(PgStore.open(url, { node: 'n1' }), /node "n1" is already running/, 'the name was taken again')
    const other = await PgStore.open(url, { node: 'n2' })
    await other.commit([addedEvent(1, 'x')], [sampleTask('x')], [], 0)
    await waitFor(() => (heads.includes(1) ? true : undefined), 'told of the commit after the outage', 10_000)
    assert.deepEqual(lost, [])
    await other.close()
    await a.close()
  })

  it('never shows a password', () => {
    assert.equal(redact('postgres://app:s3cret@db.example:5432/queue'), 'postgres://app:***@db.example:5432/queue')
  })
})
