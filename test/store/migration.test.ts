// A new release reads what an old one wrote: version-1 records are carried forward on open.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Level } from 'level'
import { flagName, parseSettings } from '../../src/config/daemon-settings.js'
import { startDaemon } from '../../src/runtime/daemon.js'
import { resolveHome } from '../../src/runtime/home.js'
import { LevelStore } from '../../src/store/level-store.js'
import { SCHEMA_VERSION, type TaskRecordV1 } from '../../src/store/schema.js'
import { tempDir } from '../helpers/temp-dir.js'
import { launchersOf, waitFor } from '../helpers/wait.js'
import { sampleSpec, sampleTask } from '../helpers/sample-records.js'

const v1Task: TaskRecordV1 = {
  v: 1, name: 'legacy', script: '/bin/true', args: ['x'], at: '2026-01-02T03:04:05.000Z', deadline: '2026-01-03T00:00:00.000Z',
  priority: 'low', front: true, retries: 2, state: 'failed', attempts: 3, lastExitCode: 4, lastOutcome: 'failed', pid: null,
}

async function writeRaw(path: string, sublevel: string, entries: [string, unknown][]): Promise<void> {
  const db = new Level<string, unknown>(path, { valueEncoding: 'json' })
  const sub = db.sublevel<string, unknown>(sublevel, { valueEncoding: 'json' })
  await sub.batch(entries.map(([key, value]) => ({ type: 'put' as const, key, value })))
  await db.close()
}

describe('schema migration', () => {
  it('upgrades version-1 task records on open and rewrites them in the current version', async () => {
    const dir = await tempDir()
    const path = join(dir.path, 'db')
    try {
      await writeRaw(path, 'task', [['legacy', v1Task]])
      const store = await LevelStore.open(path)
      const [task] = await store.loadTasks()
      assert.ok(task !== undefined)
      assert.equal(task.spec.name, 'legacy')
      assert.equal(task.spec.at, Date.parse('2026-01-02T03:04:05.000Z'))
      assert.equal(task.spec.deadline, Date.parse('2026-01-03T00:00:00.000Z'))
      assert.deepEqual(task.spec.args, ['x'])
      assert.equal(task.spec.priority, 'low')
      assert.equal(task.spec.restart, 'on-failure')
      assert.equal(task.state, 'failed')
      assert.equal(task.lastExitCode, 4)
      await store.close()
      const db = new Level<string, Record<string, unknown>>(path, { valueEncoding: 'json' })
      const raw = await db.sublevel<string, Record<string, unknown>>('task', { valueEncoding: 'json' }).get('legacy')
      assert.equal(raw?.['v'], SCHEMA_VERSION)
      await db.close()
    } finally {
      await dir.remove()
    }
  })

  it('reads what the previous release (version 2, whole records) wrote, and rewrites its records compactly', async () => {
    const dir = await tempDir()
    const path = join(dir.path, 'db')
    const spec = sampleSpec('v2task', { args: ['a'], priority: 'low', env: { K: 'v' } })
    const record = sampleTask('v2task', { spec, priority: 'low', state: 'retrying', attempts: 2, consecutiveFailures: 2, dueAt: spec.at + 5, lastExitCode: 1, lastOutcome: 'failed' })
    const added = { v: 2, seq: 1, time: '2026-11-27T00:00:00.000Z', type: 'task.added', task: 'v2task', spec }
    try {
      await writeRaw(path, 'task', [['v2task', { v: 2, ...record }]])
      await writeRaw(path, 'ev', [['0000000000000001', added]])
      await writeRaw(path, 'tev', [['v2task:0000000000000001', {}]])
      const store = await LevelStore.open(path)
      assert.deepEqual(await store.loadTasks(), [record])
      const { v: _v, ...event } = added
      assert.deepEqual(await store.history({ task: 'v2task', limit: 10 }), [event])
      await store.close()
      const db = new Level<string, Record<string, unknown>>(path, { valueEncoding: 'json' })
      const raw = await db.sublevel<string, Record<string, unknown>>('task', { valueEncoding: 'json' }).get('v2task')
      await db.close()
      assert.equal(raw?.['v'], SCHEMA_VERSION)
      assert.ok(!('bumped' in (raw ?? {})) && !('pid' in (raw ?? {})), 'fields at their default are left out')
      const again = await LevelStore.open(path)
      assert.deepEqual(await again.loadTasks(), [record])
      await again.close()
    } finally {
      await dir.remove()
    }
  })

  it('reads version-1 events, whose run.exited said exitCode, as the current shape', async () => {
    const dir = await tempDir()
    const path = join(dir.path, 'db')
    try {
      const exited = { v: 1, seq: 1, time: '2026-01-02T03:04:05.000Z', type: 'run.exited', task: 'legacy', exitCode: 4, signal: null, outcome: 'failed', durationMs: 5 }
      await writeRaw(path, 'ev', [['0000000000000001', exited]])
      await writeRaw(path, 'tev', [['legacy:0000000000000001', {}]])
      const store = await LevelStore.open(path)
      assert.equal(store.lastSeq, 1)
      const [event] = await store.history({ task: 'legacy', limit: 10 })
      assert.equal(event?.type, 'run.exited')
      assert.equal(event?.type === 'run.exited' ? event.code : undefined, 4)
      assert.ok(!('exitCode' in (event ?? {})))
      await store.close()
    } finally {
      await dir.remove()
    }
  })

  it('a daemon refuses to boot on records from a newer release, and leaves no launcher process behind', async () => {
    const dir = await tempDir()
    try {
      const home = resolveHome(join(dir.path, 'home'))
      await writeRaw(home.db, 'task', [['future', { ...v1Task, v: SCHEMA_VERSION + 1 }]])
      await assert.rejects(startDaemon({ home, flags: parseSettings({ port: 0 }, flagName) }), /newer than this release/)
      // The launcher is forked before the records load; a failed boot must let it go.
      await waitFor(() => launchersOf(process.pid).length === 0, 'the launcher to exit', 5000)
    } finally {
      await dir.remove()
    }
  })

  it('refuses records from a newer release instead of misreading them', async () => {
    const dir = await tempDir()
    const path = join(dir.path, 'db')
    try {
      await writeRaw(path, 'task', [['future', { ...v1Task, v: SCHEMA_VERSION + 1 }]])
      const store = await LevelStore.open(path)
      await assert.rejects(store.loadTasks(), /newer than this release/)
      await store.close()
    } finally {
      await dir.remove()
    }
  })
})
