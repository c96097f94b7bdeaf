// Log rotation: a task's logs past the cap are copied aside and truncated in place (copytruncate),
// so a run still writing through its append-mode descriptor keeps writing to the live file.
import assert from 'node:assert/strict'
import { closeSync, openSync, writeSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { logPath, rotateIfNeeded } from '../../src/runtime/log-files.js'
import { tempDir } from '../helpers/temp-dir.js'

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  try {
    await body(dir.path)
  } finally {
    await dir.remove()
  }
}

const read = (path: string): Promise<string> => readFile(path, 'utf8')

describe('log rotation', () => {
  it('leaves logs at or under the cap alone and answers where stderr stands', () => withDir(async (dir) => {
    await writeFile(logPath(dir, 'job', 'out'), '0123456789')
    await writeFile(logPath(dir, 'job', 'err'), 'oops\n')
    assert.equal(rotateIfNeeded(dir, 'job', { maxBytes: 10, keep: 3 }), 5)
    assert.deepEqual((await readdir(dir)).sort(), ['job.err.log', 'job.out.log'])
    assert.equal(await read(logPath(dir, 'job', 'out')), '0123456789')
  }))

  it('answers 0 for a task that never wrote a log, and creates nothing', () => withDir(async (dir) => {
    assert.equal(rotateIfNeeded(dir, 'new', { maxBytes: 10, keep: 3 }), 0)
    assert.deepEqual(await readdir(dir), [])
  }))

  it('moves a log past the cap to .1, older copies one step down, at most `keep` of them', () => withDir(async (dir) => {
    const out = logPath(dir, 'job', 'out')
    const policy = { maxBytes: 4, keep: 2 }
    for (const text of ['first run\n', 'second run\n', 'third run\n']) {
      await writeFile(out, text, { flag: 'a' })
      rotateIfNeeded(dir, 'job', policy)
    }
    assert.deepEqual((await readdir(dir)).sort(), ['job.out.log', 'job.out.log.1', 'job.out.log.2'])
    assert.equal(await read(out), '')
    assert.equal(await read(`${out}.1`), 'third run\n')
    assert.equal(await read(`${out}.2`), 'second run\n', 'the oldest copy beyond `keep` is gone')
  }))

  it('keeps no copies with keep 0: the log is only emptied', () => withDir(async (dir) => {
    await writeFile(logPath(dir, 'job', 'err'), 'x'.repeat(20))
    assert.equal(rotateIfNeeded(dir, 'job', { maxBytes: 10, keep: 0 }), 0, 'a run starting now begins its stderr at 0')
    assert.deepEqual(await readdir(dir), ['job.err.log'])
    assert.equal(await read(logPath(dir, 'job', 'err')), '')
  }))

  it('a writer holding the log open in append mode goes on at the start of the emptied file', () => withDir(async (dir) => {
    const err = logPath(dir, 'svc', 'err')
    const fd = openSync(err, 'a', 0o600)
    try {
      writeSync(fd, 'before rotation, long enough\n')
      assert.equal(rotateIfNeeded(dir, 'svc', { maxBytes: 8, keep: 1 }), 0)
      writeSync(fd, 'after\n')
    } finally {
      closeSync(fd)
    }
    assert.equal(await read(err), 'after\n', 'no hole of zeros where the old text was')
    assert.equal(await read(`${err}.1`), 'before rotation, long enough\n')
  }))
})
