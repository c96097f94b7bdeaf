// The PostgreSQL store against the shared Store contract, on a throwaway PostgreSQL 15 server; and what
// only it shows: the schema versions, a newer schema refused, a password never printed.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import type { TaskEvent } from '../../src/core/types.js'
import { PgStore, redact } from '../../src/store/pg-store.js'
import { addedEvent, sampleTask } from '../helpers/sample-records.js'
import { pgMissing, startPostgres, type TestPostgres } from '../helpers/postgres.js'
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

  it('never shows a password', () => {
    assert.equal(redact('postgres://app:s3cret@db.example:5432/queue'), 'postgres://app:***@db.example:5432/queue')
  })
})
