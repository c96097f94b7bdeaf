// A short crash torture: the daemon SIGKILLed at random moments under a mixed workload loses nothing.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { tempDir } from '../helpers/temp-dir.js'
import { leftovers, torture } from '../helpers/torture.js'
import { waitFor } from '../helpers/wait.js'

describe('crash torture (short; npm run torture for the long one)', () => {
  it('keeps every task, every seq and every outcome across 6 kill -9 of the daemon and restarts, interrupting no run', { timeout: 180_000 }, async () => {
    const dir = await tempDir()
    const home = join(dir.path, 'home')
    try {
      const report = await torture({ home, dir: dir.path, tasks: 60, kills: 6, maxLifeMs: 700 })
      assert.equal(report.tasks, 60)
      assert.deepEqual(report.problems, [])
      // Only the daemon is killed: its launcher keeps the runs, so none is cut off.
      assert.equal(report.interrupted, 0, 'no run interrupted while the launcher lives')
      await waitFor(() => leftovers(home).length === 0, 'no process of this home left', 10_000)
    } finally {
      await dir.remove()
    }
  })
})
