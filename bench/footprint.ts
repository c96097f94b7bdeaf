// Footprint: daemon heap and RSS with 0, 10k and 100k scheduled tasks; idle CPU over 30 s once settled.
import { join } from 'node:path'
import { DaemonProcess, runCli } from '../test/helpers/daemon-process.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { daemonStats, mb } from './daemon-stats.js'
import { parseArgs, report, type Row } from './report.js'
import { writeTasks } from './tasks-file.js'

const { quick } = parseArgs()
const SIZES = quick ? [0, 10_000] : [0, 10_000, 100_000]
const IDLE_MS = quick ? 3000 : 30_000
/** After an apply, LevelDB compacts what it wrote and V8 shrinks its heap, on threads of the daemon's own: not idle yet. */
const SETTLE_MS = quick ? 2000 : 20_000

const dir = await tempDir('supervisor-bench-')
const rows: Row[] = []
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
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
      const before = await daemonStats(daemon.home)
      const t0 = performance.now()
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
      const after = await daemonStats(daemon.home)
      const wall = performance.now() - t0
      const collected = await daemonStats(daemon.home, true)
      const cpu = (after.cpuUsage.user + after.cpuUsage.system - before.cpuUsage.user - before.cpuUsage.system) / 1000
      rows.push(
        { what: `${size} scheduled: daemon heap used after a full GC`, value: mb(collected.memory.heapUsed), unit: 'MB', target: size === 100_000 ? 30 : undefined },
        { what: `${size} scheduled: daemon RSS`, value: mb(after.memory.rss), unit: 'MB', target: size === 0 ? 45 : undefined, extra: size === 0 ? 'pm2 daemon idle: 57 MB' : undefined },
        { what: `${size} scheduled: idle CPU over ${IDLE_MS / 1000} s`, value: (100 * cpu) / wall, unit: '% of a core', target: size === 100_000 ? 0.2 : undefined },
      )
    } finally {
      await daemon.cleanup()
    }
  }
  report('footprint', rows)
} finally {
  await dir.remove()
}
