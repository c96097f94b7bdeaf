// Log rotation: a task's logs past the cap are copied aside and truncated in place (copytruncate),
// so a run still writing through its append-mode descriptor keeps writing to the live file.
import assert from 'node:assert/strict'
import { closeSync, openSync, writeSync } from 'node:fs'
import { lstat, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { logPath, openLogs, rotateIfNeeded } from '../../src/runtime/log-files.js'
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
  it('neither copies nor truncates a file that a symlink planted at the log path names', () => withDir(async (dir) => {
    const victim = join(dir, 'victim')
    await writeFile(victim, 'x'.repeat(100))
    await symlink(victim, logPath(dir, 'job', 'out'))
    rotateIfNeeded(dir, 'job', { maxBytes: 10, keep: 2 })
    assert.equal(await read(victim), 'x'.repeat(100))
    assert.deepEqual((await readdir(dir)).sort(), ['job.out.log', 'victim'], 'no copy of it as .1')
  }))

  it('does not copy through a symlink planted at .1: the link is replaced by the copy, its target untouched', () => withDir(async (dir) => {
    const victim = join(dir, 'victim')
    await writeFile(victim, 'precious\n')
    const out = logPath(dir, 'job', 'out')
    await writeFile(out, 'y'.repeat(20))
    await symlink(victim, `${out}.1`)
    rotateIfNeeded(dir, 'job', { maxBytes: 10, keep: 1 })
    assert.equal(await read(victim), 'precious\n')
    assert.ok((await lstat(`${out}.1`)).isFile())
    assert.equal(await read(`${out}.1`), 'y'.repeat(20))
    assert.equal(await read(out), '')
  }))

  it('opens no log through a symlink planted at its path', () => withDir(async (dir) => {
    await symlink(join(dir, 'victim'), logPath(dir, 'job', 'out'))
    assert.throws(() => openLogs(dir, 'job'), /ELOOP/)
    await assert.rejects(lstat(join(dir, 'victim')), /ENOENT/, 'the file it names was not created')
  }))
})
