// The log writer: a run's output, read from a pipe, appended to its log with the size cap enforced as
// it arrives, rotated by rename, never through a planted symlink, with backpressure on the source.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { PassThrough, Readable } from 'node:stream'
import { describe, it } from 'node:test'
import { logPath } from '../../src/runtime/log-files.js'
import { LogWriter } from '../../src/runtime/log-writer.js'
import { withTempDir } from '../helpers/temp-dir.js'

const MB = 1024 * 1024

const withDir = withTempDir

/** Numbered 10-byte lines, `count` of them: the same text the burst child writes. */
function numberedLines(count: number): Buffer {
  const buffer = Buffer.alloc(count * 10)
  for (let i = 0; i < count; i += 1) buffer.write(`${String(i).padStart(9, '0')}\n`, i * 10, 'latin1')
  return buffer
}

/** A child writing `count` numbered lines to stdout as fast as the pipe takes them; resolves with its exit. */
function burstChild(count: number): { stdout: Readable; exit: Promise<{ code: number | null; signal: string | null }> } {
  const script = `
    const lines = ${count}, block = 6554
    for (let i = 0; i < lines; i += block) {
      let text = ''
      for (let j = i; j < Math.min(lines, i + block); j += 1) text += String(j).padStart(9, '0') + '\\n'
      process.stdout.write(text)
    }`
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  return { stdout: child.stdout, exit }
}

/** The kept files of a log, oldest first (.keep ... .1, then the live file), with their contents. */
async function keptFiles(dir: string, live: string): Promise<{ name: string; bytes: Buffer }[]> {
  const names = (await readdir(dir)).filter((n) => n.startsWith(live.slice(dir.length + 1)))
  const rank = (n: string): number => (n.endsWith('.log') ? 0 : Number(n.slice(n.lastIndexOf('.') + 1)))
  names.sort((a, b) => rank(b) - rank(a))
  return Promise.all(names.map(async (name) => ({ name, bytes: await readFile(`${dir}/${name}`) })))
}

describe('log writer', () => {
  it('holds the cap through a 20 MB burst from a child with a 1 MB cap: files .1 to .3, each within the cap, the newest output kept in order', () => withDir(async (dir) => {
    const count = 2 * MB
    const { stdout, exit } = burstChild(count)
    const errors: Error[] = []
    const writer = new LogWriter(stdout, { dir, task: 'burst', stream: 'out', policy: { maxBytes: MB, keep: 3 }, onError: (e) => errors.push(e) })
    await writer.done
    assert.deepEqual(await exit, { code: 0, signal: null })
    assert.deepEqual(errors, [])
    const live = logPath(dir, 'burst', 'out')
    const files = await keptFiles(dir, live)
    assert.deepEqual(files.map((f) => f.name), ['burst.out.log.3', 'burst.out.log.2', 'burst.out.log.1', 'burst.out.log'])
    for (const file of files) assert.ok(file.bytes.length <= MB, `${file.name} holds ${file.bytes.length} bytes, over the 1 MB cap`)
    for (const file of files.slice(0, 3)) assert.ok(file.bytes.length > MB / 2, `${file.name} was rotated when only ${file.bytes.length} bytes`)
    const kept = Buffer.concat(files.map((f) => f.bytes))
    const expected = numberedLines(count)
    assert.equal(writer.written, expected.length)
    assert.ok(kept.equals(expected.subarray(expected.length - kept.length)), 'the kept files are the end of the output, in order')
  }))

  it('splits a single chunk bigger than the cap across files, at line ends, and drops the oldest beyond keep', () => withDir(async (dir) => {
    const text = numberedLines(350_000)
    const writer = new LogWriter(Readable.from([text]), { dir, task: 'big', stream: 'err', policy: { maxBytes: MB, keep: 5 } })
    await writer.done
    const files = await keptFiles(dir, logPath(dir, 'big', 'err'))
    assert.deepEqual(files.map((f) => f.name), ['big.err.log.3', 'big.err.log.2', 'big.err.log.1', 'big.err.log'])
    for (const file of files) {
      assert.ok(file.bytes.length <= MB, `${file.name} holds ${file.bytes.length} bytes`)
      assert.equal(file.bytes.at(-1), 0x0a, `${file.name} ends at a line end`)
    }
    assert.ok(Buffer.concat(files.map((f) => f.bytes)).equals(text))

    const few = new LogWriter(Readable.from([numberedLines(400_000)]), { dir, task: 'few', stream: 'out', policy: { maxBytes: MB, keep: 1 } })
    await few.done
    assert.deepEqual((await keptFiles(dir, logPath(dir, 'few', 'out'))).map((f) => f.name), ['few.out.log.1', 'few.out.log'])
  }))

  it('with keep 0 starts a new file at the cap and keeps no old ones', () => withDir(async (dir) => {
    const chunks = Array.from({ length: 300 }, () => Buffer.alloc(10_000, 'x'))
    const writer = new LogWriter(Readable.from(chunks), { dir, task: 'k0', stream: 'out', policy: { maxBytes: 64 * 1024, keep: 0 } })
    await writer.done
    assert.deepEqual(await readdir(dir), ['k0.out.log'], 'no old log kept, and no time index: no line starts after the first byte of a new file')
    // Six 10 KB chunks fit under 64 KB, the seventh starts a new file: the last of 50 files holds six.
    assert.equal((await stat(logPath(dir, 'k0', 'out'))).size, 60_000)
  }))

  it('appends to an existing log under the cap, and rotates one already over it before the first write', () => withDir(async (dir) => {
    const under = logPath(dir, 'under', 'out')
    await writeFile(under, 'earlier run\n')
    await new LogWriter(Readable.from([Buffer.from('this run\n')]), { dir, task: 'under', stream: 'out', policy: { maxBytes: 100, keep: 2 } }).done
    assert.equal(await readFile(under, 'utf8'), 'earlier run\nthis run\n')

    const over = logPath(dir, 'over', 'out')
    await writeFile(over, 'y'.repeat(500))
    await new LogWriter(Readable.from([Buffer.from('fresh\n')]), { dir, task: 'over', stream: 'out', policy: { maxBytes: 100, keep: 2 } }).done
    assert.equal(await readFile(over, 'utf8'), 'fresh\n')
    assert.equal(await readFile(`${over}.1`, 'utf8'), 'y'.repeat(500))
  }))

  it('creates the log with mode 0600', () => withDir(async (dir) => {
    await new LogWriter(Readable.from([Buffer.from('x\n')]), { dir, task: 'mode', stream: 'out', policy: { maxBytes: 100, keep: 1 } }).done
    assert.equal((await stat(logPath(dir, 'mode', 'out'))).mode & 0o777, 0o600)
  }))

  it('refuses a symlink planted at the log path: the target is untouched, the error reported once, the child drained and unharmed', () => withDir(async (dir) => {
    const victim = `${dir}/victim`
    await writeFile(victim, 'precious\n')
    await symlink(victim, logPath(dir, 'planted', 'out'))
    const { stdout, exit } = burstChild(200_000)
    const errors: Error[] = []
    const writer = new LogWriter(stdout, { dir, task: 'planted', stream: 'out', policy: { maxBytes: MB, keep: 3 }, onError: (e) => errors.push(e) })
    await writer.done
    assert.deepEqual(await exit, { code: 0, signal: null }, 'the child wrote all its output and exited normally')
    assert.equal(await readFile(victim, 'utf8'), 'precious\n')
    assert.equal(errors.length, 1)
    assert.match(errors[0]?.message ?? '', /planted\.out\.log: is a symbolic link; refusing/)
    assert.equal(writer.written, 0)
    assert.equal(writer.dropped, 2_000_000)
  }))

  it('refuses to rotate through a symlink planted at a rotated name, and the file it names is untouched', () => withDir(async (dir) => {
    const victim = `${dir}/victim`
    await writeFile(victim, 'precious\n')
    const live = logPath(dir, 'rot', 'out')
    await writeFile(live, 'z'.repeat(90))
    await symlink(victim, `${live}.1`)
    const errors: Error[] = []
    const writer = new LogWriter(Readable.from([Buffer.from('a'.repeat(50))]), { dir, task: 'rot', stream: 'out', policy: { maxBytes: 100, keep: 3 }, onError: (e) => errors.push(e) })
    await writer.done
    assert.equal(await readFile(victim, 'utf8'), 'precious\n')
    assert.equal(errors.length, 1)
    assert.match(errors[0]?.message ?? '', /rot\.out\.log\.1: is a symbolic link/)
  }))

  it('honours backpressure: the source is read only as fast as the file is written', () => withDir(async (dir) => {
    const live = logPath(dir, 'slow', 'out')
    const chunk = Buffer.alloc(16 * 1024, 'b')
    let pulled = 0
    let maxLag = 0
    async function* produce(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 400; i += 1) {
        const onDisk = (await stat(live).catch(() => ({ size: 0 }))).size
        maxLag = Math.max(maxLag, pulled - onDisk)
        pulled += chunk.length
        yield chunk
      }
    }
    const writer = new LogWriter(Readable.from(produce()), { dir, task: 'slow', stream: 'out', policy: { maxBytes: 100 * MB, keep: 1 } })
    await writer.done
    assert.equal((await stat(live)).size, 400 * chunk.length)
    // Readable.from buffers up to 16 chunks ahead, and one more is being written: 18 x 16 KB at most.
    assert.ok(maxLag <= 18 * chunk.length, `read ${maxLag} bytes ahead of the file`)
  }))

  it('is done only once the source has ended and all of it is written; a failing source still ends it, with the error reported', () => withDir(async (dir) => {
    const source = new PassThrough()
    const writer = new LogWriter(source, { dir, task: 'end', stream: 'err', policy: { maxBytes: MB, keep: 1 } })
    let finished = false
    void writer.done.then(() => (finished = true))
    source.write('first\n')
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(finished, false, 'done before the source ended')
    source.end('last\n')
    await writer.done
    assert.equal(await readFile(logPath(dir, 'end', 'err'), 'utf8'), 'first\nlast\n')

    const broken = new PassThrough()
    const errors: Error[] = []
    const failing = new LogWriter(broken, { dir, task: 'broken', stream: 'out', policy: { maxBytes: MB, keep: 1 }, onError: (e) => errors.push(e) })
    broken.write('before\n')
    await new Promise((resolve) => setTimeout(resolve, 20))
    broken.destroy(new Error('pipe broke'))
    await failing.done
    assert.deepEqual(errors.map((e) => e.message), ['pipe broke'])
    assert.equal(await readFile(logPath(dir, 'broken', 'out'), 'utf8'), 'before\n')
  }))

  it('rejects a policy it cannot honour, naming the field', () => {
    const source = Readable.from([])
    assert.throws(() => new LogWriter(source, { dir: '/tmp', task: 't', stream: 'out', policy: { maxBytes: 0, keep: 1 } }), /^Error: maxBytes: expected a whole number of bytes >= 1, got 0$/)
    assert.throws(() => new LogWriter(source, { dir: '/tmp', task: 't', stream: 'out', policy: { maxBytes: 10, keep: -1 } }), /^Error: keep: expected a whole number >= 0, got -1$/)
  })
})
