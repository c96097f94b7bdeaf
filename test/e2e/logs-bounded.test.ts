// End to end: reading a big log never loads it whole. Parallel follow reads of a 50 MB log each get at
// most a MiB a stream and leave the daemon's memory bounded; `ctl logs --follow` loops to print it all.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { appendFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, it } from 'node:test'
import { Client } from '../../src/cli/client.js'
import type { LogChunk } from '../../src/runtime/log-reader.js'
import { CLI, daemonForSuite } from '../helpers/daemon-process.js'
import { alive, waitFor } from '../helpers/wait.js'

const MB = 1024 * 1024
const BOUND = MB

type Logs = { out: LogChunk; err: LogChunk }

/** `count` numbered 10-byte lines starting at `first`. */
function numbered(first: number, count: number): Buffer {
  const buffer = Buffer.alloc(count * 10)
  for (let i = 0; i < count; i += 1) buffer.write(`${String(first + i).padStart(9, '0')}\n`, i * 10, 'latin1')
  return buffer
}

/** The most resident memory the process has had (VmHWM), in bytes: a peak a later GC cannot hide. */
function peakRss(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1]) * 1024
}

describe('bounded log reads', () => {
  const suite = daemonForSuite(['--min-free-memory', '0'])
  let follower: ChildProcess | null = null
  afterEach(() => {
    if (follower?.pid !== undefined && alive(follower.pid)) process.kill(follower.pid, 'SIGKILL')
    follower = null
  })

  it('answers 8 parallel follow reads of a 50 MB log from 0 with a MiB each, and the daemon stays small', { timeout: 60_000 }, async () => {
    const { daemon } = suite
    const logs = join(daemon.home, 'logs')
    await writeFile(join(logs, 'big.out.log'), numbered(0, 5 * MB))
    await writeFile(join(logs, 'big.err.log'), numbered(0, 5 * MB))
    const client = await Client.connect(join(daemon.home, 'supervisor.sock'))
    try {
      const before = peakRss(daemon.pid)
      const answers = await Promise.all(Array.from({ length: 8 }, () => client.call<Logs>('tasks.logs', { name: 'big', from: { out: 0, err: 0 } })))
      for (const answer of answers) {
        for (const chunk of [answer.out, answer.err]) {
          assert.ok(Buffer.byteLength(chunk.text) <= BOUND, `an answer of ${Buffer.byteLength(chunk.text)} bytes`)
          assert.equal(chunk.offset, Buffer.byteLength(chunk.text), 'the offset to go on from is where the text ends')
          assert.equal(chunk.more, true)
          assert.equal(chunk.text.at(-1), '\n', 'cut after a line end')
        }
      }
      const after = peakRss(daemon.pid)
      const status = await client.call<{ memory: { rss: number } }>('daemon.status')
      // Whole reads held 8 x (a 50 MB buffer, its 50 MB string, the JSON answer) a stream: gigabytes.
      assert.ok(after - before < 150 * MB, `the daemon's peak resident memory grew by ${Math.round((after - before) / MB)} MB`)
      assert.ok(status.memory.rss < before + 150 * MB, `daemon.status reports ${Math.round(status.memory.rss / MB)} MB resident`)
      const listed = await daemon.ctl(['list'])
      assert.equal(listed.code, 0, listed.stderr)
    } finally {
      client.close()
    }
  })

  it('ctl logs --follow prints all of 40 MB appended at once, asking again at once while there is more', { timeout: 60_000 }, async () => {
    const { daemon } = suite
    const out = join(daemon.home, 'logs', 'growing.out.log')
    await writeFile(out, numbered(0, 3))
    const child = spawn(process.execPath, [CLI, 'ctl', '--home', daemon.home, 'logs', 'growing', '--follow'], { stdio: ['ignore', 'pipe', 'pipe'] })
    follower = child
    const printed: Buffer[] = []
    let bytes = 0
    child.stdout?.on('data', (d: Buffer) => {
      printed.push(d)
      bytes += d.length
    })
    await waitFor(() => bytes === 30, 'the existing lines')
    const appended = numbered(3, 4 * MB)
    await appendFile(out, appended)
    const started = Date.now()
    await waitFor(() => bytes >= 30 + appended.length, 'all the appended output', 30_000)
    const took = Date.now() - started
    assert.ok(Buffer.concat(printed).equals(numbered(0, 4 * MB + 3)), 'every line once, in order')
    // Pausing 300 ms between 1 MiB answers would take 12 s for these 40 answers.
    assert.ok(took < 8_000, `caught up in ${took} ms`)
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  })
})
