// Footprint: daemon heap and RSS with 0, 10k and 100k scheduled tasks; CPU soon after the apply and once idle.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DaemonProcess, runCli } from '../test/helpers/daemon-process.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { daemonStats, mb } from './daemon-stats.js'
import { parseArgs, report, type Row } from './report.js'
import { writeTasks } from './tasks-file.js'

const { quick } = parseArgs()
const SIZES = quick ? [0, 10_000] : [0, 10_000, 100_000]
const IDLE_MS = quick ? 3000 : 30_000
/**
 * A minute or so after a big apply, V8 shrinks the heap the apply grew (a few hundred ms of CPU on its
 * GC threads, seen here 50-60 s after a 100k apply): CPU is measured in a window before that settles
 * and in one after, and only the second counts as idle.
 */
const SETTLE_MS = quick ? 2000 : 20_000
const SECOND_WINDOW_AFTER_MS = quick ? 0 : 80_000

/** The resident memory of the daemon's launcher, in bytes (0 if it has none now). */
async function launcherRss(daemon: DaemonProcess): Promise<number> {
  const pid = await daemon.launcherPid().catch(() => null)
  if (pid === null) return 0
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024
}

/** Share of a core the daemon used (all its threads) over `ms` from now. */
async function cpuOver(home: string, ms: number): Promise<number> {
  const before = await daemonStats(home)
  const t0 = performance.now()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const after = await daemonStats(home)
  const used = (after.cpuUsage.user + after.cpuUsage.system - before.cpuUsage.user - before.cpuUsage.system) / 1000
  return (100 * used) / (performance.now() - t0)
}

const dir = await tempDir('supervisor-bench-')
const rows: Row[] = []
/** Heap after a full GC of the daemon with no tasks: what the tasks' share is measured from. */
let emptyHeap: number | null = null
try {
  for (const size of SIZES) {
    const daemon = await DaemonProcess.start(join(dir.path, `home-${size}`), [], { follow: false, nodeArgs: ['--expose-gc'] })
    try {
      if (size > 0) {
        const file = join(dir.path, `tasks-${size}.json`)
        await writeTasks(file, size, 'idle')
        const applied = await runCli(['ctl', '--home', daemon.home, 'apply', file])
        if (applied.code !== 0) throw new Error(applied.stderr)
      }
      await daemonStats(daemon.home, true) // the apply's garbage is not the queue's footprint
      const t0 = performance.now()
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
      const early = await cpuOver(daemon.home, IDLE_MS)
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, SECOND_WINDOW_AFTER_MS - (performance.now() - t0))))
      const idle = await cpuOver(daemon.home, IDLE_MS)
      const after = await daemonStats(daemon.home)
      const collected = await daemonStats(daemon.home, true)
      if (size === 0) emptyHeap = collected.memory.heapUsed
      rows.push(
        { what: `${size} scheduled: daemon heap used after a full GC`, value: mb(collected.memory.heapUsed), unit: 'MB' },
        { what: `${size} scheduled: daemon RSS`, value: mb(after.memory.rss), unit: 'MB', target: size === 0 ? 45 : undefined, extra: size === 0 ? 'pm2 daemon idle: 57 MB' : undefined },
        // What a user pays: the launcher, which keeps the runs across daemons, is a process of its own.
        { what: `${size} scheduled: daemon + launcher RSS`, value: mb(after.memory.rss + (await launcherRss(daemon))), unit: 'MB', extra: size === 0 ? 'pm2 daemon idle: 57 MB' : undefined },
        { what: `${size} scheduled: CPU ${SETTLE_MS / 1000}-${(SETTLE_MS + IDLE_MS) / 1000} s after the apply`, value: early, unit: '% of a core' },
        ...(size > 0 && emptyHeap !== null
          ? [{ what: `${size} scheduled: heap the tasks take (daemon heap less the daemon's with none)`, value: mb(collected.memory.heapUsed - emptyHeap), unit: 'MB',
              target: size === 100_000 ? 30 : undefined, extra: `${Math.round((collected.memory.heapUsed - emptyHeap) / size)} B a task; node-schedule: +171 MB for 100k` }]
          : []),
        { what: `${size} scheduled: idle CPU over ${IDLE_MS / 1000} s, from ${Math.max(SECOND_WINDOW_AFTER_MS, SETTLE_MS + IDLE_MS) / 1000} s after the apply`, value: idle, unit: '% of a core', target: size === 100_000 ? 0.2 : undefined },
      )
    } finally {
      await daemon.cleanup()
    }
  }
  report('footprint', rows)
} finally {
  await dir.remove()
}
