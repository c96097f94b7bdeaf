// Fault test: the disk under a running daemon fills up. Runs that end meanwhile are kept until their
// exit can be written, their pids are never signalled again (an unrelated "decoy" process is given one
// of them, as the kernel would), the daemon says it is degraded, and once space returns every exit
// lands and nothing acknowledged before is lost.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync, existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { DaemonInfo } from '../../src/api/daemon-info.js'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { alive, waitFor } from '../helpers/wait.js'

/** A 32 MB tmpfs of our own to fill; the test is skipped (saying why) only where it cannot be mounted. */
const MOUNT = mkdtempSync(join(tmpdir(), 'supervisor-disk-full-'))
const mountProblem = ((): string | null => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', MOUNT], { stdio: 'pipe' })
    return null
  } catch (error) {
    rmSync(MOUNT, { recursive: true, force: true })
    return `cannot mount a tmpfs (needs root): ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`
  }
})()

/** Write `path` until the file system says ENOSPC, in ever smaller pieces, so that not a page is left. */
function fill(path: string): number {
  const fd = openSync(path, 'w')
  let written = 0
  try {
    for (let size = 1024 * 1024; size >= 1; size = Math.floor(size / 2)) {
      const chunk = Buffer.alloc(size, 1)
      for (;;) {
        try {
          written += writeSync(fd, chunk)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
          break
        }
      }
    }
  } finally {
    closeSync(fd)
  }
  return written
}

/**
 * Start the decoy with exactly one of `pids` as its pid (and process group), by setting the kernel's
 * last pid just before the fork (root only). Another process may take a pid first: then try again,
 * or the next pid.
 */
async function decoyWithPid(pids: number[], dir: string): Promise<{ pid: number; signals: string }> {
  for (const pid of pids) {
    if (alive(pid)) continue // the kernel already gave it to someone else
    const decoy = await tryDecoy(pid, dir)
    if (decoy !== null) return decoy
  }
  throw new Error(`could not start a process with any of the pids ${pids.join(', ')}`)
}

async function tryDecoy(pid: number, dir: string): Promise<{ pid: number; signals: string } | null> {
  const signals = join(dir, `decoy-${pid}.signals`)
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const pidFile = join(dir, `decoy-${pid}-${attempt}.pid`)
    const script = `echo ${pid - 1} > /proc/sys/kernel/ns_last_pid; setsid ${fixture('decoy.sh')} ${pidFile} ${signals} &`
    await new Promise((resolve) => spawn('sh', ['-c', script], { stdio: 'ignore' }).once('exit', resolve))
    const got = Number(await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim(), 'the decoy to start'))
    if (got === pid) return { pid, signals }
    process.kill(got, 'SIGKILL')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return null
}

/** The dashboard's banner is checked too where Debian's chromium is installed (.ci/run installs it). */
const CHROMIUM = '/usr/bin/chromium'

const readLines = (path: string): string[] => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l !== '') : [])

describe('a full disk under a running daemon', { skip: mountProblem ?? false }, () => {
  const home = join(MOUNT, 'home')
  const filler = join(MOUNT, 'filler')
  let work = ''
  let daemon: DaemonProcess
  const daemons: DaemonProcess[] = []
  const decoys: number[] = []
  let browser: Browser | null = null
  /** Tasks whose `add` the daemon acknowledged: each must be there after a restart. */
  const acknowledged: string[] = []
  const health = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`http://127.0.0.1:${daemon.port}/health`)
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'supervisor-disk-full-work-'))
    daemon = await DaemonProcess.start(home, ['--kill-timeout', '1s', '--max-concurrent', '10'])
    daemons.push(daemon)
    if (existsSync(CHROMIUM)) {
      browser = await chromium.launch({
        executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      })
    }
  })
  after(async () => {
    await browser?.close()
    for (const pid of decoys) if (alive(pid)) process.kill(-pid, 'SIGKILL')
    // Space first, so that a daemon left degraded by a failed test can log its exits and stop.
    rmSync(filler, { force: true })
    for (const d of daemons) await d.cleanup()
    await rm(work, { recursive: true, force: true })
    await unmount()
  })

  /** The daemon's helpers may hold the mount a moment after it died: try for a while, then detach it. */
  async function unmount(): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        execFileSync('umount', attempt < 50 ? [MOUNT] : ['-l', MOUNT], { stdio: 'pipe' })
        break
      } catch (error) {
        if (attempt >= 50) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    rmSync(MOUNT, { recursive: true, force: true })
  }

  it('keeps every exit until it can be written, signals no finished pid, says it is degraded, then recovers', { timeout: 120_000 }, async () => {
    for (let i = 0; i < 5; i += 1) {
      await daemon.add(`kept-${i}`, ['--script', fixture('ok.sh'), '--at', '+1h'])
      acknowledged.push(`kept-${i}`)
    }
    // Runs that end on their own (4 s) while the disk is full; their timeout (7 s) would fire after that.
    const runners = ['short-0', 'short-1', 'short-2']
    for (const name of runners) {
      await daemon.add(name, ['--script', fixture('pid-sleep.sh'), '--timeout', '7s', '--retries', '0', '--', join(work, `${name}.pids`), '4'])
      acknowledged.push(name)
    }
    const started = await Promise.all(runners.map((name) => daemon.waitForType('run.started', name)))
    assert.deepEqual((await health()).body['status'], 'ok')
    // The dashboard is open (with a token made while writes worked) before the disk fills.
    let page: Page | null = null
    if (browser !== null) {
      const { token } = await daemon.ctlJson<{ token: string }>(['token', 'create', '--scope', 'read'])
      page = await browser.newPage()
      await page.goto(`http://127.0.0.1:${daemon.port}/#token=${token}`)
      await page.waitForSelector('#connection.online')
      await page.waitForSelector('tr[data-task="short-0"]')
      assert.equal(await page.isVisible('#degraded'), false, 'no banner while writes work')
    }

    fill(filler)
    // The database's last pages may still hold a few small writes: add until one is refused.
    let refused = ''
    for (let i = 0; i < 200 && refused === ''; i += 1) {
      const result = await daemon.ctl(['add', `probe-${i}`, '--script', fixture('ok.sh'), '--at', '+1h'])
      if (result.code === 0) acknowledged.push(`probe-${i}`)
      else refused = result.stderr
    }
    assert.match(refused, /^error: store: writing to the task database failed: .*No space left on device.*; nothing was changed\n$/)

    // Each run ends by itself; its exit cannot be written.
    for (const run of started) await waitFor(() => !alive(run.pid) && !alive(-run.pid), `run ${run.pid} to end`)
    const info = await waitFor(async () => {
      const now = await daemon.ctlJson<DaemonInfo>(['info'])
      return now.unrecorded >= runners.length ? now : null
    }, 'the daemon to hold the three exits')
    assert.match(info.degraded?.problem ?? '', /No space left on device/)
    assert.ok(!Number.isNaN(Date.parse(info.degraded?.since ?? '')))
    assert.equal(info.pid, daemon.pid)
    assert.equal(info.home, home)
    assert.equal(info.version, JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version)
    const text = await daemon.ctl(['info'])
    assert.match(text.stdout, /store:\s+DEGRADED since .*No space left on device/)
    const sick = await health()
    assert.equal(sick.status, 503)
    assert.equal(sick.body['status'], 'degraded')
    assert.match(String(sick.body['problem']), /No space left on device/)
    assert.doesNotMatch(String(sick.body['problem']), new RegExp(MOUNT), '/health names no paths')
    assert.equal(sick.body['running'], runners.length, 'counts kept: the unwritten exits still count as running')
    if (page !== null) {
      await page.waitForSelector('#degraded:not([hidden])', { timeout: 5000 })
      assert.match(await page.textContent('#degraded') ?? '', /^Degraded since .*No space left on device/)
    }

    // An unrelated process now holds a finished run's pid, as the kernel may arrange at any time.
    const decoy = await decoyWithPid(started.map((run) => run.pid), work)
    decoys.push(decoy.pid)
    const victim = started.find((run) => run.pid === decoy.pid)?.task as string
    const stop = await daemon.ctl(['stop', victim])
    assert.equal(stop.code, 1)
    assert.match(stop.stderr, /^error: store: .*No space left on device/)
    assert.equal((await daemon.ctl(['remove', victim])).code, 1)
    // Past the runs' 7 s timeout and the 1 s kill timeout (and a margin): nothing may end "them" now.
    const quiet = Math.max(...started.map((run) => Date.parse(run.time))) + 7000 + 1000 + 1500
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, quiet - Date.now())))
    assert.deepEqual(readLines(decoy.signals), [], 'the decoy holding a finished run\'s pid got no signal')
    assert.ok(alive(decoy.pid), 'and was not killed')
    assert.equal(daemon.eventsOf('run.exited').length, 0)

    rmSync(filler)
    for (const name of runners) await daemon.waitForType('run.exited', name)
    const healed = await waitFor(async () => {
      const now = await daemon.ctlJson<DaemonInfo>(['info'])
      return now.degraded === null && now.unrecorded === 0 ? now : null
    }, 'the daemon to recover')
    assert.equal(healed.running, 0)
    assert.deepEqual(await health(), { status: 200, body: { status: 'ok', tasks: acknowledged.length, ready: 0, running: 0 } })
    for (const name of runners) {
      const task = await daemon.task(name)
      assert.equal(task.state, 'succeeded', name)
      assert.equal(task.pid, null)
    }
    assert.deepEqual(readLines(decoy.signals), [])
    assert.ok(alive(decoy.pid))
    if (page !== null) {
      await page.waitForSelector('#degraded', { state: 'hidden', timeout: 5000 })
      await page.waitForSelector('tr[data-task="short-0"][data-state="succeeded"]')
      await page.close()
    }
    // Writes work again.
    await daemon.add('after', ['--script', fixture('ok.sh'), '--at', '+1h'])
    acknowledged.push('after')

    assert.equal(await daemon.stop(), 0)
    daemon = await DaemonProcess.start(home, ['--kill-timeout', '1s'])
    daemons.push(daemon)
    const names = (await daemon.ctlJson<{ name: string }[]>(['list'])).map((t) => t.name).sort()
    assert.deepEqual(names, [...acknowledged].sort())
    for (const name of runners) {
      assert.equal((await daemon.task(name)).state, 'succeeded', `${name} after the restart`)
      assert.equal(daemon.eventsOf('run.exited', name).length, 1, `${name}: one exit in its history`)
    }
    assert.deepEqual(readLines(decoy.signals), [])
  })
})
