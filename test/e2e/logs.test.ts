// End to end: ctl logs (streams kept apart, --lines, --follow across runs) and tasks run as another user.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { chmod, copyFile, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import { CLI, DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { alive, waitFor } from '../helpers/wait.js'

type Dir = Awaited<ReturnType<typeof tempDir>>
const FLAGS = ['--max-cpu', '100', '--min-free-memory', '0']
const NOISY_OUT = 'line 1\nline 2\nline 3\nline 4\nline 5\n'

describe('task logs and users through ctl', () => {
  let home: Dir
  let work: Dir
  let daemon: DaemonProcess
  let follower: ChildProcess | null = null

  before(async () => {
    home = await tempDir()
    work = await tempDir()
    daemon = await DaemonProcess.start(home.path, FLAGS)
  })
  afterEach(() => {
    if (follower?.pid !== undefined && alive(follower.pid)) process.kill(follower.pid, 'SIGKILL')
    follower = null
  })
  after(async () => {
    await daemon.cleanup()
    await home.remove()
    await work.remove()
  })


  it('prints stdout lines on stdout and the stderr line on stderr', { timeout: 30_000 }, async () => {
    await daemon.add('noisy', ['--script', fixture('noisy.sh'), '--', '5'])
    await daemon.waitForType('task.succeeded', 'noisy')
    const logs = await daemon.ctl(['logs', 'noisy'])
    assert.equal(logs.code, 0, logs.stderr)
    assert.equal(logs.stdout, NOISY_OUT)
    assert.equal(logs.stderr, 'noisy: done\n')
  })

  it('gives only the last N lines with --lines N', { timeout: 30_000 }, async () => {
    const logs = await daemon.ctl(['logs', 'noisy', '--lines', '2'])
    assert.equal(logs.code, 0, logs.stderr)
    assert.equal(logs.stdout, 'line 4\nline 5\n')
    assert.equal(logs.stderr, 'noisy: done\n')
  })

  it('keeps printing, with --follow, the lines a later run appends', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, [CLI, 'ctl', '--home', home.path, 'logs', 'noisy', '--follow'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    follower = child
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    await waitFor(() => stdout === NOISY_OUT, 'the existing lines')
    const lastSeq = daemon.events.at(-1)?.seq ?? 0
    const run = await daemon.ctl(['run', 'noisy'])
    assert.equal(run.code, 0, run.stderr)
    await daemon.waitForType('task.succeeded', 'noisy', (e) => e.seq > lastSeq)
    await waitFor(() => stdout === NOISY_OUT + NOISY_OUT, 'the second run\'s lines on stdout')
    await waitFor(() => stderr === 'noisy: done\nnoisy: done\n', 'the second run\'s line on stderr')
    assert.equal(child.exitCode, null, '--follow keeps running')
    const exited = new Promise((resolve) => child.once('exit', resolve))
    process.kill(child.pid as number, 'SIGTERM')
    await exited
  })

  it('prints each line with the time it was written, with --timestamps, also with no name and with --follow', { timeout: 30_000 }, async () => {
    const script = join(work.path, 'paced.sh')
    await writeFile(script, '#!/bin/sh\necho first\nsleep 0.6\necho second\necho oops >&2\n')
    await chmod(script, 0o755)
    const before = Date.now()
    await daemon.add('paced', ['--script', script])
    await daemon.waitForType('task.succeeded', 'paced')
    const after = Date.now()
    const logs = await daemon.ctl(['logs', 'paced', '--timestamps'])
    assert.equal(logs.code, 0, logs.stderr)
    const lines = logs.stdout.split('\n').slice(0, -1).map((line) => /^(\S+) (.*)$/.exec(line))
    assert.deepEqual(lines.map((m) => m?.[2]), ['first', 'second'], logs.stdout)
    const [first, second] = lines.map((m) => Date.parse(m?.[1] ?? ''))
    for (const at of [first, second]) assert.ok((at as number) >= before - 5 && (at as number) <= after + 5, `${logs.stdout}: a time within the run`)
    assert.ok((second as number) - (first as number) >= 500, `the second line came 0.6 s after the first: ${logs.stdout}`)
    assert.match(logs.stderr, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z oops\n$/)
    // Every task's logs: the name first, then the time.
    const all = await daemon.ctl(['logs', '--timestamps', '--lines', '1'])
    assert.equal(all.code, 0, all.stderr)
    assert.match(all.stdout, /^paced +\| \d{4}-\S+Z second$/m)
    // Following: a later run's lines come stamped too.
    const child = spawn(process.execPath, [CLI, 'ctl', '--home', home.path, 'logs', 'paced', '--timestamps', '--follow', '--lines', '1'], { stdio: ['ignore', 'pipe', 'pipe'] })
    follower = child
    let stdout = ''
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    await waitFor(() => stdout.includes('second'), 'the last line')
    const lastSeq = daemon.events.at(-1)?.seq ?? 0
    assert.equal((await daemon.ctl(['run', 'paced'])).code, 0)
    await daemon.waitForType('task.succeeded', 'paced', (e) => e.seq > lastSeq)
    await waitFor(() => stdout.split('\n').filter((l) => l !== '').length === 3, 'the second run\'s lines')
    for (const line of stdout.split('\n').filter((l) => l !== '')) assert.match(line, /^\d{4}-\d\d-\d\dT\S+Z (first|second)$/)
  })

  it('runs a task as --user nobody when the daemon is root', { timeout: 30_000 }, async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('the daemon is not root')
      return
    }
    // A copy the user can reach: temp folders are private to their creator.
    await chmod(work.path, 0o755)
    const script = join(work.path, 'whoami.sh')
    await copyFile(fixture('whoami.sh'), script)
    await chmod(script, 0o755)
    await daemon.add('as-nobody', ['--script', script, '--user', 'nobody', '--cwd', work.path])
    await daemon.waitForType('task.succeeded', 'as-nobody')
    const logs = await daemon.ctl(['logs', 'as-nobody'])
    assert.equal(logs.code, 0, logs.stderr)
    assert.equal(logs.stdout, 'nobody\n')
    assert.equal((await daemon.task('as-nobody')).user, 'nobody')
  })

  it('refuses --user nosuchuser with exit 1, naming the user field', { timeout: 30_000 }, async () => {
    const added = await daemon.ctl(['add', 'ghost', '--script', fixture('ok.sh'), '--user', 'nosuchuser'])
    assert.equal(added.code, 1, added.stdout)
    assert.match(added.stderr, /user/)
    assert.match(added.stderr, /nosuchuser/)
    assert.equal((await daemon.ctl(['status', 'ghost'])).code, 1, 'no task was added')
  })
})

describe('log rotation by the daemon', () => {
  /** A daemon whose settings cap logs at `logMaxSize` bytes with `logFiles` copies; `body` gets its logs folder. */
  async function withCappedDaemon(logMaxSize: number, logFiles: number, body: (daemon: DaemonProcess, logs: string) => Promise<void>): Promise<void> {
    const home = await tempDir()
    const work = await tempDir()
    const config = join(work.path, 'ecosystem.json')
    await writeFile(config, JSON.stringify({ supervisor: { logMaxSize, logFiles }, tasks: [] }))
    const daemon = await DaemonProcess.start(home.path, [...FLAGS, '--config', config])
    try {
      await body(daemon, join(home.path, 'logs'))
    } finally {
      await daemon.cleanup()
      await home.remove()
      await work.remove()
    }
  }

  it('holds each log file to logMaxSize as the output arrives, keeping logFiles older files', { timeout: 30_000 }, async () => {
    // Each run writes 20 lines (151 bytes) to stdout: past the 100-byte cap within the run itself.
    await withCappedDaemon(100, 1, async (daemon, logs) => {
      await daemon.add('chatty', ['--script', fixture('noisy.sh'), '--', '20'])
      await daemon.waitForType('task.succeeded', 'chatty')
      for (let run = 2; run <= 3; run += 1) {
        const lastSeq = daemon.events.at(-1)?.seq ?? 0
        assert.equal((await daemon.ctl(['run', 'chatty'])).code, 0)
        await daemon.waitForType('task.succeeded', 'chatty', (e) => e.seq > lastSeq)
      }
      const out = join(logs, 'chatty.out.log')
      assert.deepEqual((await readdir(logs)).filter((f) => f.startsWith('chatty.') && f.includes('.log')).sort(), ['chatty.err.log', 'chatty.out.log', 'chatty.out.log.1'])
      for (const times of (await readdir(logs)).filter((f) => f.startsWith('chatty.') && f.endsWith('.times'))) {
        assert.ok((await stat(join(logs, times))).size <= 100, `the time index ${times} keeps to the cap too`)
      }
      const [live, older] = [await readFile(out, 'utf8'), await readFile(`${out}.1`, 'utf8')]
      assert.ok(live.length <= 100 && older.length <= 100, `files of ${live.length} and ${older.length} bytes, cap 100`)
      assert.ok(live.endsWith('line 20\n'), 'the live log ends with the last run\'s last line')
      assert.ok((older + live).includes('line 11\nline 12\n'), 'rotation happens at line ends: no line is cut')
      assert.equal(await readFile(join(logs, 'chatty.err.log'), 'utf8'), 'noisy: done\n'.repeat(3), 'stderr stayed under the cap')
    })
  })

  it('holds a burst (5 MB in well under a second) to a 1 MB cap: never a bigger file, never more than logFiles + 1', { timeout: 30_000 }, async () => {
    await withCappedDaemon(1024 * 1024, 2, async (daemon, logs) => {
      await daemon.add('burst', ['--script', fixture('burst.sh'), '--', '5'])
      await daemon.waitForType('task.succeeded', 'burst')
      const files = (await readdir(logs)).filter((f) => f.startsWith('burst.out.log')).sort()
      assert.deepEqual(files, ['burst.out.log', 'burst.out.log.1', 'burst.out.log.2'])
      for (const file of files) {
        const { size } = await stat(join(logs, file))
        assert.ok(size <= 1024 * 1024, `${file} holds ${size} bytes, over the 1 MB cap`)
        assert.ok(size > 0, `${file} is not empty`)
      }
    })
  })
})
