// Soak: short tasks cycling for minutes; the daemon's memory stays flat after warm-up and the history
// stays within its retention.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DaemonProcess, fixture } from '../test/helpers/daemon-process.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { daemonStats, mb } from './daemon-stats.js'
import { parseArgs, report } from './report.js'

const { quick } = parseArgs()
const MINUTES = Number(process.env['SOAK_MINUTES'] ?? (quick ? 1.5 : 5))
const KEEP = 5000
const WARM_UP_MS = 45_000

const dir = await tempDir('supervisor-soak-')
// Eight tasks every second, each run logging five events: ~40 events a second against a 5,000 limit.
const file = join(dir.path, 'soak.json')
const tasks = Array.from({ length: 8 }, (_, i) => ({ name: `soak-${i}`, script: fixture(i % 4 === 3 ? 'fail.sh' : 'ok.sh'), cron: '* * * * * *', retries: 0 }))
await writeFile(file, JSON.stringify({ supervisor: { historyKeep: KEEP }, tasks }))
const daemon = await DaemonProcess.start(join(dir.path, 'home'), ['--config', file], { follow: false, nodeArgs: ['--expose-gc'] })
try {
  const started = Date.now()
  await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS))
  const warm = await daemonStats(daemon.home, true)
  const samples: number[] = []
  /** Each minute: RSS and heap after a full GC, to show a trend rather than two points. */
  const trend: string[] = []
  while (Date.now() - started < MINUTES * 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 15_000))
    const collect = samples.length % 4 === 3
    const { memory } = await daemonStats(daemon.home, collect)
    samples.push(memory.rss)
    if (collect) trend.push(`${((Date.now() - started) / 60_000).toFixed(0)} min ${mb(memory.rss).toFixed(0)}/${mb(memory.heapUsed).toFixed(1)}`)
  }
  console.log(`RSS / heap after GC (MB), each minute: ${trend.join(', ')}`)
  const end = await daemonStats(daemon.home, true) as Awaited<ReturnType<typeof daemonStats>> & { lastSeq: number; firstSeq: number }
  const kept = end.lastSeq - end.firstSeq + 1
  report(`soak (${MINUTES} min, 8 runs a second)`, [
    { what: 'events logged', value: end.lastSeq, unit: 'events' },
    { what: `events kept (historyKeep ${KEEP}, compaction every minute)`, value: kept, unit: 'events', extra: kept <= KEEP + 60 * 45 ? 'bounded' : 'NOT bounded' },
    { what: 'RSS after warm-up', value: mb(warm.memory.rss), unit: 'MB' },
    { what: 'RSS at the end', value: mb(end.memory.rss), unit: 'MB', extra: `max during ${mb(Math.max(...samples)).toFixed(0)} MB` },
    { what: 'heap after a full GC: warm-up -> end', value: mb(end.memory.heapUsed), unit: 'MB', extra: `was ${mb(warm.memory.heapUsed).toFixed(1)} MB` },
  ])
} finally {
  await daemon.cleanup()
  await dir.remove()
}
