// What the store acknowledges survives: synced writes, and seqs never given twice even when LevelDB loses writes.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdir, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { AbstractChainedBatch, AbstractLevel } from 'abstract-level'
import { Level } from 'level'
import { LevelStore } from '../../src/store/level-store.js'
import { dueEvent, sampleTask } from '../helpers/sample-records.js'
import { tempDir } from '../helpers/temp-dir.js'

/** A store in `db` of a fresh folder: the body gets the folder and the db path; the folder is removed after. */
async function inFolder(body: (path: string, folder: string) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  try {
    await body(join(dir.path, 'db'), dir.path)
  } finally {
    await dir.remove()
  }
}

/** Commit `count` events as single-event batches from `first`, as the dispatcher does for a run of actions. */
async function commitEvents(store: LevelStore, first: number, count: number): Promise<void> {
  for (let seq = first; seq < first + count; seq += 1) {
    await store.commit([dueEvent(seq, 'a')], [sampleTask('a', { queuedSeq: seq })], [])
  }
}

/** What a power loss does to writes still in the write-ahead log: the newest `*.log` is cut to nothing. */
async function truncateNewestLog(path: string): Promise<void> {
  const logs = (await readdir(path)).filter((name) => name.endsWith('.log')).sort()
  const newest = logs.at(-1)
  assert.ok(newest !== undefined, 'LevelDB keeps a write-ahead log')
  assert.ok((await stat(join(path, newest))).size > 0, 'the writes are still in the log')
  await truncate(join(path, newest), 0)
}

type Spied = { calls: { op: string; options: unknown }[]; restore(): void }

/** Record the options of every LevelDB put, del and chained-batch write, at the abstract-level API. */
function spyWrites(): Spied {
  const calls: Spied['calls'] = []
  const level = AbstractLevel.prototype as unknown as Record<'put' | 'del', (...args: unknown[]) => Promise<void>>
  const batch = AbstractChainedBatch.prototype as unknown as Record<'write', (...args: unknown[]) => Promise<void>>
  const originals = { put: level.put, del: level.del, write: batch.write }
  level.put = function (this: unknown, ...args: unknown[]) {
    calls.push({ op: 'put', options: args[2] })
    return originals.put.apply(this, args)
  }
  level.del = function (this: unknown, ...args: unknown[]) {
    calls.push({ op: 'del', options: args[1] })
    return originals.del.apply(this, args)
  }
  batch.write = function (this: unknown, ...args: unknown[]) {
    calls.push({ op: 'batch', options: args[0] })
    return originals.write.apply(this, args)
  }
  return {
    calls,
    restore: () => Object.assign(level, { put: originals.put, del: originals.del }) && Object.assign(batch, { write: originals.write }),
  }
}

const synced = (call: { options: unknown }): boolean => (call.options as { sync?: unknown } | undefined)?.sync === true

describe('LevelStore durability', () => {
  it('asks LevelDB to sync every write that acknowledges something: a commit, a token put, a token delete', () => inFolder(async (path) => {
    const store = await LevelStore.open(path)
    const spy = spyWrites()
    try {
      await store.commit([dueEvent(1, 'a')], [sampleTask('a')], [])
      await store.putToken({ id: 't1', hash: 'h', scope: 'read', name: 'n', created: '2026-01-01T00:00:00.000Z' })
      assert.equal(await store.deleteToken('t1'), true)
      const ops = spy.calls.map((call) => `${call.op}${synced(call) ? ' synced' : ''}`)
      assert.ok(ops.includes('batch synced'), `the commit batch is synced (writes seen: ${ops.join(', ')})`)
      assert.ok(ops.includes('put synced'), `the token put is synced (writes seen: ${ops.join(', ')})`)
      assert.ok(ops.includes('del synced'), `the token delete is synced (writes seen: ${ops.join(', ')})`)
    } finally {
      spy.restore()
      await store.close()
    }
  }))

  it('after a clean close and a truncated write-ahead log, the next seq is past every seq acknowledged', () => inFolder(async (path) => {
    const first = await LevelStore.open(path)
    await commitEvents(first, 1, 25)
    await first.close()
    await truncateNewestLog(path)
    const second = await LevelStore.open(path, { warn: () => undefined })
    let taken: number
    try {
      assert.equal((await second.history({ limit: 100 })).length, 0, 'the truncated log really lost the events')
      assert.ok(second.lastSeq >= 25, `lastSeq ${second.lastSeq} covers the 25 seqs acknowledged`)
      // And on from there: new events take new seqs, kept across the next reopen too.
      await commitEvents(second, second.lastSeq + 1, 1)
      taken = second.lastSeq
    } finally {
      await second.close()
    }
    const third = await LevelStore.open(path)
    assert.equal(third.lastSeq, taken, 'a clean close and reopen does not jump')
    await third.close()
  }))

  it('after a kill -9 and a truncated write-ahead log, the next seq is past every seq acknowledged', () => inFolder(async (path) => {
    const writer = spawn(process.execPath, [fileURLToPath(new URL('../helpers/store-writer.js', import.meta.url)), path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    // The writer prints each seq once its commit resolved: those are the acknowledged ones.
    let acknowledged = 0
    await new Promise<void>((resolve) => {
      writer.stdout.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) if (line !== '') acknowledged = Math.max(acknowledged, Number(line))
        if (acknowledged >= 50) resolve()
      })
    })
    const exited = new Promise((resolve) => writer.once('exit', resolve))
    writer.kill('SIGKILL')
    await exited
    await truncateNewestLog(path)
    const store = await LevelStore.open(path, { warn: () => undefined })
    try {
      assert.ok(store.lastSeq >= acknowledged, `lastSeq ${store.lastSeq} covers the ${acknowledged} seqs acknowledged`)
    } finally {
      await store.close()
    }
  }))

  it('a garbage reservation file does not stop the store: it warns naming the file and goes on from LevelDB\'s seq', () => inFolder(async (path, folder) => {
    const first = await LevelStore.open(path)
    await commitEvents(first, 1, 3)
    await first.close()
    await writeFile(join(folder, 'db.seq'), 'not json')
    const warnings: string[] = []
    const second = await LevelStore.open(path, { warn: (message) => warnings.push(message) })
    try {
      assert.equal(second.lastSeq, 3)
      assert.equal(warnings.length, 1)
      assert.match(warnings[0] ?? '', /db\.seq: expected \{"reserved": a whole number\}, got "not json"/)
      await commitEvents(second, 4, 1)
      assert.equal(second.lastSeq, 4)
    } finally {
      await second.close()
    }
    // The file is good again: the next open warns no more.
    const third = await LevelStore.open(path, { warn: (message) => warnings.push(message) })
    assert.equal(third.lastSeq, 4)
    assert.equal(warnings.length, 1)
    await third.close()
  }))

  it('a missing reservation file warns only when the database already holds events', () => inFolder(async (path, folder) => {
    const warnings: string[] = []
    const fresh = await LevelStore.open(path, { warn: (message) => warnings.push(message) })
    await commitEvents(fresh, 1, 2)
    await fresh.close()
    assert.equal(warnings.length, 0, 'a new database is no cause for a warning')
    await rm(join(folder, 'db.seq'))
    const again = await LevelStore.open(path, { warn: (message) => warnings.push(message) })
    assert.equal(again.lastSeq, 2)
    assert.equal(warnings.length, 1)
    assert.match(warnings[0] ?? '', /db\.seq is missing; seqs continue after the database's last seq 2/)
    await again.close()
  }))

  it('retention counts the events it keeps, whatever the jumps in their seqs', () => inFolder(async (path, folder) => {
    const first = await LevelStore.open(path)
    await commitEvents(first, 1, 5)
    await first.close()
    // As after a crash: the reservation is ahead of the log, so the next seqs jump past it.
    await writeFile(join(folder, 'db.seq'), '{"reserved":10000}\n')
    const second = await LevelStore.open(path)
    try {
      assert.equal(second.lastSeq, 10_000)
      await commitEvents(second, 10_001, 3)
      assert.equal(await second.compact(6, 100), 2)
      assert.deepEqual((await second.history({ limit: 100 })).map((e) => e.seq), [3, 4, 5, 10_001, 10_002, 10_003])
      assert.equal(await second.compact(6, 100), 0)
    } finally {
      await second.close()
    }
  }))

  it('retention counts the events of a database written before the count was kept', () => inFolder(async (path) => {
    const first = await LevelStore.open(path)
    await commitEvents(first, 1, 5)
    await first.close()
    const raw = new Level<string, string>(path)
    await raw.del('!meta!events')
    await raw.close()
    const second = await LevelStore.open(path)
    try {
      assert.equal(await second.compact(3, 100), 2)
      assert.deepEqual((await second.history({ limit: 100 })).map((e) => e.seq), [3, 4, 5])
    } finally {
      await second.close()
    }
  }))
})
