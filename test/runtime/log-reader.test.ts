// Reading logs in bounded pieces: a follow read returns at most READ_BOUND bytes and where to go on,
// a tail reads backwards only as far as it needs, and neither reads through a planted symlink.
import assert from 'node:assert/strict'
import { symlink, writeFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { logPath } from '../../src/runtime/log-files.js'
import { READ_BOUND, readLog, runStderr } from '../../src/runtime/log-reader.js'
import { withTempDir } from '../helpers/temp-dir.js'

const withDir = withTempDir

const numbered = (count: number, width = 9): string[] => Array.from({ length: count }, (_, i) => `${String(i).padStart(width, '0')}`)

/** Follow reads from 0 until caught up, as `ctl logs --follow` does; the pieces read. */
async function followAll(dir: string, task: string): Promise<string[]> {
  const pieces: string[] = []
  let offset = 0
  for (;;) {
    const chunk = await readLog(dir, task, 'out', 100, offset)
    if (chunk.text !== '') pieces.push(chunk.text)
    offset = chunk.offset
    if (chunk.more !== true) return pieces
  }
}

describe('log reader', () => {
  it('answers a follow read from 0 of a 5 MB log with at most a MiB, cut after a line, and the offset to go on from', () => withDir(async (dir) => {
    const text = numbered(500_000).map((l) => `${l}\n`).join('')
    await writeFile(logPath(dir, 'big', 'out'), text)
    const first = await readLog(dir, 'big', 'out', 100, 0)
    assert.ok(Buffer.byteLength(first.text) <= READ_BOUND, `${Buffer.byteLength(first.text)} bytes in one answer`)
    assert.ok(Buffer.byteLength(first.text) > READ_BOUND - 10, 'nearly a whole MiB: cut at the last line end')
    assert.equal(first.text.at(-1), '\n')
    assert.equal(first.offset, Buffer.byteLength(first.text))
    assert.equal(first.more, true)
    const pieces = await followAll(dir, 'big')
    assert.equal(pieces.length, 5)
    for (const piece of pieces) assert.ok(Buffer.byteLength(piece) <= READ_BOUND)
    assert.equal(pieces.join(''), text)
  }))

  it('cuts a piece with no line end at a whole UTF-8 character', () => withDir(async (dir) => {
    const text = `a${'é€'.repeat(400_000)}`
    await writeFile(logPath(dir, 'wide', 'out'), text)
    const pieces = await followAll(dir, 'wide')
    assert.ok(pieces.length >= 2)
    for (const piece of pieces) assert.ok(!piece.includes('\ufffd'), 'no character split between two answers')
    assert.equal(pieces.join(''), text)
  }))

  it('reads a follow offset past the end of a rotated log from its start', () => withDir(async (dir) => {
    await writeFile(logPath(dir, 'rot', 'out'), 'new\n')
    assert.deepEqual(await readLog(dir, 'rot', 'out', 100, 1000), { text: 'new\n', offset: 4 })
    assert.deepEqual(await readLog(dir, 'rot', 'out', 100, 4), { text: '', offset: 4 })
  }))

  it('tails the last N lines exactly, across its backward steps', () => withDir(async (dir) => {
    const lines = numbered(50_000)
    await writeFile(logPath(dir, 'many', 'out'), lines.map((l) => `${l}\n`).join(''))
    for (const n of [1, 100, 6_553, 6_554, 20_000, 50_000]) {
      const wanted = lines.slice(-n).map((l) => `${l}\n`).join('')
      const got = await readLog(dir, 'many', 'out', n)
      assert.equal(got.text, wanted, `--lines ${n}`)
      assert.equal(got.offset, 500_000)
    }
    await writeFile(logPath(dir, 'open', 'out'), 'one\ntwo\nthree, unfinished')
    assert.equal((await readLog(dir, 'open', 'out', 2)).text, 'two\nthree, unfinished\n')
  }))

  it('tails at most a MiB of a log of long lines: the whole lines within it, never the whole file', () => withDir(async (dir) => {
    const lines = ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(400_000))
    await writeFile(logPath(dir, 'long', 'out'), lines.map((l) => `${l}\n`).join(''))
    const got = await readLog(dir, 'long', 'out', 5)
    assert.ok(Buffer.byteLength(got.text) <= READ_BOUND, `${Buffer.byteLength(got.text)} bytes`)
    assert.equal(got.text, `${lines[3]}\n${lines[4]}\n`, 'the two whole lines in the last MiB, without the partial one before them')
    assert.equal(got.offset, 2_000_005)
  }))

  it('answers an empty chunk at 0 for a log not written yet', () => withDir(async (dir) => {
    assert.deepEqual(await readLog(dir, 'none', 'err', 10), { text: '', offset: 0 })
    assert.deepEqual(await readLog(dir, 'none', 'err', 10, 0), { text: '', offset: 0 })
    assert.equal(await runStderr(dir, 'none', 0), '')
  }))

  it('refuses to read a log through a symlink planted at its path, naming the file', () => withDir(async (dir) => {
    const secret = `${dir}/secret`
    await writeFile(secret, 'root password\n')
    await symlink(secret, logPath(dir, 'planted', 'out'))
    await assert.rejects(readLog(dir, 'planted', 'out', 10), /^DomainError: planted\.out\.log: is a symbolic link; refusing to read the log through it$/)
    await assert.rejects(readLog(dir, 'planted', 'out', 10, 0), /is a symbolic link/)
    await symlink(secret, logPath(dir, 'planted', 'err'))
    assert.equal(await runStderr(dir, 'planted', 0), '', 'a failed run\'s stderr summary does not show it either')
  }))
})
