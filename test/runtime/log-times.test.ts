// Log times: the launcher's writer keeps a time index beside each log (one record per chunk, at most one
// a millisecond, afresh on rotation) and `readLog(..., { timestamps: true })` prefixes each line with
// the time its first byte was written, for tails, follows from mid-line offsets and logs without an index.
import assert from 'node:assert/strict'
import { readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { logPath } from '../../src/runtime/log-files.js'
import { readLog } from '../../src/runtime/log-reader.js'
import { markTimesSince, stampLines, TIME_RECORD_BYTES, timesPath } from '../../src/runtime/log-times.js'
import { LogWriter } from '../../src/runtime/log-writer.js'
import { withTempDir } from '../helpers/temp-dir.js'

const T0 = Date.parse('2026-12-03T10:00:00.000Z')
const iso = (ms: number): string => new Date(ms).toISOString()

/** Writes `pieces` through a LogWriter, each at its own fake time, waiting for each to land. */
async function writeAt(dir: string, task: string, pieces: [number, string][], policy = { maxBytes: 1024 * 1024, keep: 2 }): Promise<Error[]> {
  const source = new PassThrough()
  let now = T0
  const errors: Error[] = []
  const writer = new LogWriter(source, { dir, task, stream: 'out', policy, now: () => now, onError: (e) => errors.push(e) })
  for (const [ms, text] of pieces) {
    now = ms
    const size = writer.written + text.length
    source.write(text)
    while (writer.written < size) await new Promise((resolve) => setImmediate(resolve))
  }
  source.end()
  await writer.done
  return errors
}

describe('log times', () => {
  it('prefixes each line with the time of the chunk its first byte came in', () => withTempDir(async (dir) => {
    const errors = await writeAt(dir, 'job', [[T0, 'one\ntw'], [T0 + 1500, 'o\nthree\n'], [T0 + 4000, 'four\n']])
    assert.deepEqual(errors, [])
    assert.equal(await readFile(logPath(dir, 'job', 'out'), 'utf8'), 'one\ntwo\nthree\nfour\n', 'the log itself holds only what the run wrote')
    const got = await readLog(dir, 'job', 'out', 100, undefined, { timestamps: true })
    assert.equal(got.text, `${iso(T0)} one\n${iso(T0)} two\n${iso(T0 + 1500)} three\n${iso(T0 + 4000)} four\n`)
    assert.equal(got.offset, 19)
    // The plain read is unchanged.
    assert.equal((await readLog(dir, 'job', 'out', 2)).text, 'three\nfour\n')
    assert.equal((await readLog(dir, 'job', 'out', 2, undefined, { timestamps: true })).text, `${iso(T0 + 1500)} three\n${iso(T0 + 4000)} four\n`)
  }))

  it('writes one record per millisecond at most, 16 bytes each', () => withTempDir(async (dir) => {
    await writeAt(dir, 'burst', [[T0, 'a\n'], [T0, 'b\n'], [T0, 'c\n'], [T0 + 1, 'd\n']])
    assert.equal((await stat(timesPath(dir, 'burst', 'out'))).size, 2 * TIME_RECORD_BYTES)
    assert.equal((await readLog(dir, 'burst', 'out', 10, undefined, { timestamps: true })).text, `${iso(T0)} a\n${iso(T0)} b\n${iso(T0)} c\n${iso(T0 + 1)} d\n`)
  }))

  it('keeps no record for a piece in which no line starts: a long line written in parts is dated by its first', () => withTempDir(async (dir) => {
    await writeAt(dir, 'long', [[T0, 'abc'], [T0 + 1, 'def'], [T0 + 2, 'ghi\n'], [T0 + 3, 'next\n']])
    assert.equal((await stat(timesPath(dir, 'long', 'out'))).size, 2 * TIME_RECORD_BYTES)
    assert.equal((await readLog(dir, 'long', 'out', 10, undefined, { timestamps: true })).text, `${iso(T0)} abcdefghi\n${iso(T0 + 3)} next\n`)
  }))

  it('never lets the index outgrow the log cap: past it, lines are shown without a time, never with a wrong one', () => withTempDir(async (dir) => {
    await writeAt(dir, 'capped', [[T0, 'a\n'], [T0 + 1, 'b\n'], [T0 + 2, 'c\n'], [T0 + 3, 'd\n']], { maxBytes: 40, keep: 1 })
    assert.equal((await stat(timesPath(dir, 'capped', 'out'))).size, 2 * TIME_RECORD_BYTES, 'two records fit under 40 bytes, the second the marker')
    const dash = '-'.padEnd(24)
    assert.equal((await readLog(dir, 'capped', 'out', 10, undefined, { timestamps: true })).text, `${iso(T0)} a\n${dash} b\n${dash} c\n${dash} d\n`)
  }))

  it('stamps a follow from an offset, leaving a continued line unstamped', () => withTempDir(async (dir) => {
    await writeAt(dir, 'job', [[T0, 'first\nsec'], [T0 + 700, 'ond\nthird\n']])
    // From offset 6 ("second" starts there) and from offset 9 (mid-line): the continuation gets no time.
    assert.deepEqual(await readLog(dir, 'job', 'out', 100, 6, { timestamps: true }), { text: `${iso(T0)} second\n${iso(T0 + 700)} third\n`, offset: 19 })
    assert.deepEqual(await readLog(dir, 'job', 'out', 100, 9, { timestamps: true }), { text: `ond\n${iso(T0 + 700)} third\n`, offset: 19 })
    assert.deepEqual(await readLog(dir, 'job', 'out', 100, 19, { timestamps: true }), { text: '', offset: 19 })
  }))

  it('stamps bounded follows piece by piece with their own times', () => withTempDir(async (dir) => {
    await writeAt(dir, 'job', [[T0, 'aaaa\n'], [T0 + 10, 'bbbb\n'], [T0 + 20, 'cccc\n']])
    const first = await readLog(dir, 'job', 'out', 100, 0, { timestamps: true, bound: 8 })
    assert.deepEqual(first, { text: `${iso(T0)} aaaa\n`, offset: 5, more: true })
    const second = await readLog(dir, 'job', 'out', 100, first.offset, { timestamps: true, bound: 8 })
    assert.deepEqual(second, { text: `${iso(T0 + 10)} bbbb\n`, offset: 10, more: true })
  }))

  it('starts the index afresh when the log rotates: the live file is dated by its own records', () => withTempDir(async (dir) => {
    const policy = { maxBytes: 10, keep: 1 }
    await writeAt(dir, 'rot', [[T0, 'old-1\n'], [T0 + 5, 'old-2\n'], [T0 + 9000, 'new-1\n']], policy)
    assert.equal(await readFile(logPath(dir, 'rot', 'out'), 'utf8'), 'new-1\n')
    assert.equal(await readFile(`${logPath(dir, 'rot', 'out')}.1`, 'utf8'), 'old-2\n')
    assert.equal((await stat(timesPath(dir, 'rot', 'out'))).size, TIME_RECORD_BYTES)
    assert.equal((await readLog(dir, 'rot', 'out', 10, undefined, { timestamps: true })).text, `${iso(T0 + 9000)} new-1\n`)
  }))

  it('marks lines written before times were kept (no index) with a dash, aligned', () => withTempDir(async (dir) => {
    await writeFile(logPath(dir, 'legacy', 'out'), 'from an older release\n')
    assert.equal((await readLog(dir, 'legacy', 'out', 10, undefined, { timestamps: true })).text, `${'-'.padEnd(24)} from an older release\n`)
  }))

  it('ignores records of an older file past the end of the live one (a log deleted by hand)', () => withTempDir(async (dir) => {
    await writeAt(dir, 'job', [[T0, 'a long first line\n']])
    await writeFile(logPath(dir, 'job', 'out'), '')
    await writeAt(dir, 'job', [[T0 + 60_000, 'x\n']])
    assert.equal((await readLog(dir, 'job', 'out', 10, undefined, { timestamps: true })).text, `${iso(T0 + 60_000)} x\n`)
  }))

  it('never writes the index through a planted symlink: the log goes on, the problem is said once', () => withTempDir(async (dir) => {
    await writeFile(`${dir}/target`, 'precious\n')
    await symlink(`${dir}/target`, timesPath(dir, 'planted', 'out'))
    const errors = await writeAt(dir, 'planted', [[T0, 'a\n'], [T0 + 1, 'b\n']])
    assert.equal(await readFile(`${dir}/target`, 'utf8'), 'precious\n')
    assert.equal(await readFile(logPath(dir, 'planted', 'out'), 'utf8'), 'a\nb\n')
    assert.equal(errors.length, 1)
    assert.match(errors[0]?.message ?? '', /^time index: .*the log goes on without times$/)
    // Read back: the symlink is not read through either; the lines get dashes.
    assert.equal((await readLog(dir, 'planted', 'out', 10, undefined, { timestamps: true })).text, `${'-'.padEnd(24)} a\n${'-'.padEnd(24)} b\n`)
  }))

  it('stampLines keeps multi-byte text whole and stamps an unfinished last line', () => {
    const bytes = Buffer.from('été\nnaïve')
    assert.equal(stampLines(bytes, 0, true, [{ offset: 0, ms: T0 }, { offset: 5, ms: T0 + 1 }]), `${iso(T0)} été\n${iso(T0 + 1)} naïve`)
    assert.equal(stampLines(Buffer.from('no line end'), 40, false, [{ offset: 0, ms: T0 }]), 'no line end')
  })
})

describe('log times without an index: a new file dated by its birth', () => {
  /** A writer on the real clock, as the launcher runs it; resolves once `text` is written. */
  async function writeNow(dir: string, task: string, pieces: string[], gapMs = 0, policy = { maxBytes: 1024 * 1024, keep: 2 }): Promise<void> {
    const source = new PassThrough()
    const writer = new LogWriter(source, { dir, task, stream: 'out', policy })
    for (const text of pieces) {
      const size = writer.written + text.length
      source.write(text)
      while (writer.written < size) await new Promise((resolve) => setImmediate(resolve))
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs))
    }
    source.end()
    await writer.done
  }
  const stamped = (text: string): [number, string][] => text.split('\n').slice(0, -1).map((line) => {
    const match = /^(\S+) (.*)$/.exec(line)
    return [Date.parse(match?.[1] ?? ''), match?.[2] ?? '']
  })

  it('makes no index for a one-piece run into a new log, and dates its lines by the file\'s birth', () => withTempDir(async (dir) => {
    markTimesSince(dir)
    const before = Date.now()
    await writeNow(dir, 'once', ['ok\nsecond line\n'])
    const after = Date.now()
    await assert.rejects(stat(timesPath(dir, 'once', 'out')), { code: 'ENOENT' }, 'no index file was created')
    const lines = stamped((await readLog(dir, 'once', 'out', 10, undefined, { timestamps: true })).text)
    assert.deepEqual(lines.map(([, text]) => text), ['ok', 'second line'])
    // File times are the kernel's coarse clock: a tick (up to 10 ms) behind Date.now().
    for (const [at] of lines) assert.ok(at >= before - 20 && at <= after, `dated ${iso(at)}, the run wrote between ${iso(before)} and ${iso(after)}`)
  }))

  it('indexes the later pieces of a new log: each line keeps its own time', () => withTempDir(async (dir) => {
    markTimesSince(dir)
    await writeNow(dir, 'paced', ['first\n', 'second\n'], 80)
    assert.equal((await stat(timesPath(dir, 'paced', 'out'))).size, TIME_RECORD_BYTES, 'one record: the second piece')
    const [first, second] = stamped((await readLog(dir, 'paced', 'out', 10, undefined, { timestamps: true })).text)
    assert.ok((second?.[0] as number) - (first?.[0] as number) >= 60, `80 ms apart: ${iso(first?.[0] as number)} and ${iso(second?.[0] as number)}`)
  }))

  it('leaves the lines of a log older than the marker undated (an older release wrote them), dating only what comes after', () => withTempDir(async (dir) => {
    await writeFile(logPath(dir, 'legacy', 'out'), 'old line\n')
    await new Promise((resolve) => setTimeout(resolve, 30))
    markTimesSince(dir)
    await writeNow(dir, 'legacy', ['new line\n'])
    const lines = (await readLog(dir, 'legacy', 'out', 10, undefined, { timestamps: true })).text.split('\n')
    assert.equal(lines[0], `${'-'.padEnd(24)} old line`)
    assert.match(lines[1] ?? '', /^\d{4}-\S+Z new line$/)
  }))

  it('drops the old file\'s records on rotation: the new file is dated by its birth, not by them', () => withTempDir(async (dir) => {
    markTimesSince(dir)
    // Two pieces per file: the second of each file needs a record; the cap (20 bytes) rotates every two lines.
    await writeNow(dir, 'rot', ['line-one-x\n', 'line-two-x\n', 'line-three\n'], 40, { maxBytes: 22, keep: 1 })
    assert.equal(await readFile(logPath(dir, 'rot', 'out'), 'utf8'), 'line-three\n')
    await assert.rejects(stat(timesPath(dir, 'rot', 'out')), { code: 'ENOENT' }, 'the rotated file\'s index went with it')
    const [[at] = [0]] = stamped((await readLog(dir, 'rot', 'out', 10, undefined, { timestamps: true })).text)
    const born = (await stat(logPath(dir, 'rot', 'out'))).birthtimeMs
    assert.ok(Math.abs(at - born) < 2, `dated by its birth ${iso(born)}, got ${iso(at)}`)
  }))
})
