// End to end: a run's processes cannot outlive it by leaving its process group (setsid), and its memory
// limit is the kernel's, where the machine offers cgroups (v2 for membership, v1 or v2 for memory).
import assert from 'node:assert/strict'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { detectCgroups, removeBases } from '../../src/runtime/cgroups.js'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'
import { alive, launchersOf, waitFor } from '../helpers/wait.js'

const FLAGS = ['--max-cpu', '100', '--min-free-memory', '0']
const MB = 1024 * 1024
/** Whether this machine gives runs cgroups (probed on a throwaway name, removed at once). */
const probe = detectCgroups(`/containment-probe-${process.pid}`)
if (probe !== null) removeBases(probe)
const skip = probe === null ? 'no writable cgroup v2 with cgroup.kill on this machine' : false

describe('containment of a run\'s processes', { skip }, () => {
  const suite = daemonForSuite(FLAGS)
  const escapees: number[] = []

  /** Add a task running fixtures/escape.sh; resolves with the escapee's pid once it runs. */
  async function escaping(name: string, flags: string[], sleepSeconds: string): Promise<number> {
    const pidFile = join(suite.work, `${name}.pid`)
    await suite.daemon.add(name, ['--script', fixture('escape.sh'), ...flags, '--', pidFile, sleepSeconds])
    const pid = await waitFor(async () => Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || null, `${name}'s escapee`)
    escapees.push(pid)
    assert.ok(alive(pid), 'the escapee runs')
    return pid
  }

  it('ctl stop ends a process that left the run\'s process group with setsid', { timeout: 30_000 }, async () => {
    const escapee = await escaping('stopped', ['--retries', '0'], '300')
    assert.equal((await suite.daemon.ctl(['stop', 'stopped'])).code, 0)
    await suite.daemon.waitForType('run.exited', 'stopped')
    await waitFor(() => !alive(escapee), `escapee ${escapee} to be gone after stop`, 5000)
  })

  it('a timeout ends the escapees of every attempt, leaking none across retries', { timeout: 40_000 }, async () => {
    const first = await escaping('slow', ['--timeout', '500ms', '--retries', '1'], '300')
    await suite.daemon.waitForType('task.failed', 'slow', () => true, 30_000)
    const exits = suite.daemon.eventsOf('run.exited', 'slow')
    assert.deepEqual(exits.map((e) => e.outcome), ['timeout', 'timeout'])
    const last = Number((await readFile(join(suite.work, 'slow.pid'), 'utf8')).trim())
    escapees.push(last)
    assert.notEqual(last, first, 'the retry started an escapee of its own')
    for (const pid of [first, last]) await waitFor(() => !alive(pid), `escapee ${pid} to be gone`, 5000)
  })

  it('a run that ends leaves nothing behind, not even outside its process group', { timeout: 30_000 }, async () => {
    const escapee = await escaping('quick', ['--retries', '0'], '0')
    await suite.daemon.waitForType('task.succeeded', 'quick')
    await waitFor(() => !alive(escapee), `escapee ${escapee} to be gone once its run ended`, 5000)
  })

  it('holds a run to --memory by the kernel: the run is killed at the limit, never measured above it', { timeout: 30_000, skip: probe?.memoryVersion == null ? 'no memory controller here' : false }, async () => {
    await suite.daemon.add('hog', ['--script', fixture('memory-hog.sh'), '--memory', '100M', '--retries', '0', '--', '300'])
    const exited = await suite.daemon.waitForType('run.exited', 'hog', () => true, 20_000)
    assert.equal(exited.outcome, 'killed')
    // The kernel's OOM killer sends SIGKILL; the daemon's own memory kill would send SIGTERM first.
    assert.equal(exited.signal, 'SIGKILL')
    // The peak is the kernel's own count, the one the limit applies to.
    assert.ok(exited.peakMemory !== undefined && exited.peakMemory > 90 * MB, `peak ${exited.peakMemory} reached the limit`)
    assert.ok(exited.peakMemory <= 100 * MB, `peak ${exited.peakMemory} never passed the 100M limit`)
  })

  it('ctl info names the launcher and says runs get cgroups', { timeout: 30_000 }, async () => {
    const info = await suite.daemon.ctlJson<{ pid: number; launcherPid: number | null; containment: string }>(['info'])
    assert.equal(info.pid, suite.daemon.pid)
    assert.deepEqual(launchersOf(suite.daemon.pid), [info.launcherPid])
    assert.match(info.containment, /cgroup per run/)
    const text = await suite.daemon.ctl(['info'])
    assert.match(text.stdout, /^containment:\s+a cgroup per run/m)
  })

  it('removes each run\'s cgroup once the run is over, and the daemon\'s own when it stops', { timeout: 30_000 }, async () => {
    const bases = detectCgroups(suite.daemon.home)
    assert.ok(bases !== null)
    await waitFor(async () => (await readdir(bases.unified, { withFileTypes: true })).filter((e) => e.isDirectory()).length === 0 || null,
      'every run cgroup removed', 10_000)
    assert.equal(await suite.daemon.stop(), 0)
    for (const folder of [bases.unified, bases.memory]) {
      if (folder !== null) await assert.rejects(stat(folder), `${folder} removed`)
    }
  })

  // Whatever a failed assertion left running.
  it('cleans up', () => {
    for (const pid of escapees) if (alive(pid)) process.kill(pid, 'SIGKILL')
  })
})
