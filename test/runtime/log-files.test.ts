// Log file names and sizes (rotation itself is the log writer's: log-writer.test.ts).
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { logPath, logSize } from '../../src/runtime/log-files.js'
import { tempDir } from '../helpers/temp-dir.js'

describe('log files', () => {
  it('names each task\'s two logs apart and reads their size, 0 before the first run', async () => {
    const dir = await tempDir()
    try {
      assert.equal(logPath(dir.path, 'job', 'out'), `${dir.path}/job.out.log`)
      assert.equal(logSize(dir.path, 'job', 'err'), 0)
      await writeFile(logPath(dir.path, 'job', 'err'), 'hello\n')
      assert.equal(logSize(dir.path, 'job', 'err'), 6)
      assert.equal(logSize(dir.path, 'job', 'out'), 0)
    } finally {
      await dir.remove()
    }
  })
})
