// A short cluster torture: three nodes on one PostgreSQL queue, nodes killed (the daemon alone, or the
// whole node) at random moments; one gap-free history, every task's outcome, no run started twice at once.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { clusterTorture } from '../helpers/cluster-torture.js'
import { pgMissing, startPostgres } from '../helpers/postgres.js'
import { tempDir } from '../helpers/temp-dir.js'

describe('cluster torture (short; npm run torture -- --cluster for the long one)', { skip: pgMissing }, () => {
  it('keeps every task, one gap-free order and one run at a time across node crashes and losses', { timeout: 300_000 }, async () => {
    const server = await startPostgres()
    const dir = await tempDir()
    try {
      const report = await clusterTorture({ url: await server.createDatabase(), dir: dir.path, tasks: 90, kills: 6, maxPauseMs: 1500 })
      assert.equal(report.tasks, 90)
      assert.deepEqual(report.problems, [])
      assert.ok(Object.keys(report.byNode).length >= 2, `runs on several nodes: ${JSON.stringify(report.byNode)}`)
    } finally {
      await dir.remove()
      await server.stop()
    }
  })
})
