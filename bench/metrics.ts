// The cost of Prometheus scrapes: GET /metrics once a second with 100k tasks in the queue, the
// daemon's CPU against the same time unscraped (target: under 1 % of a core), and each scrape's time.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DaemonProcess, runCli } from '../test/helpers/daemon-process.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { parseArgs, percentile, report } from './report.js'
import { writeTasks } from './tasks-file.js'

const { quick } = parseArgs()
const TASKS = quick ? 20_000 : 100_000
const SECONDS = quick ? 10 : 30
const TICKS_PER_SECOND = 100 // USER_HZ on Linux

/** CPU seconds (user + system) the process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const dir = await tempDir('supervisor-bench-')
const daemon = await DaemonProcess.start(join(dir.path, 'home'), ['--min-free-memory', '0'], { follow: false })
try {
  const file = join(dir.path, 'tasks.json')
  await writeTasks(file, TASKS, 'pending')
  const applied = await runCli(['ctl', '--home', daemon.home, 'apply', file])
  if (applied.code !== 0) throw new Error(applied.stderr)
  const { token } = await daemon.ctlJson<{ token: string }>(['token', 'create', '--scope', 'read'])
  const url = `http://127.0.0.1:${daemon.port}/metrics`
  await sleep(3000) // the apply's aftermath settles

  const idleFrom = cpuSeconds(daemon.pid)
  await sleep(SECONDS * 1000)
  const idle = (cpuSeconds(daemon.pid) - idleFrom) / SECONDS

  const times: number[] = []
  let bytes = 0
  const scrapedFrom = cpuSeconds(daemon.pid)
  const end = Date.now() + SECONDS * 1000
  for (let next = Date.now(); next < end; next += 1000) {
    await sleep(Math.max(0, next - Date.now()))
    const start = performance.now()
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
    bytes = (await res.text()).length
    if (res.status !== 200) throw new Error(`scrape answered ${res.status}`)
    times.push(performance.now() - start)
  }
  await sleep(Math.max(0, end - Date.now()))
  const scraped = (cpuSeconds(daemon.pid) - scrapedFrom) / SECONDS

  // The same cost measured without the idle noise: CPU over many scrapes back to back, per scrape.
  const BURST = 200
  const burstFrom = cpuSeconds(daemon.pid)
  for (let i = 0; i < BURST; i += 1) await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).text()
  const perScrape = (cpuSeconds(daemon.pid) - burstFrom) / BURST

  report('metrics', [
    { what: `daemon CPU, ${TASKS} tasks, not scraped`, value: idle * 100, unit: '% of a core' },
    { what: `daemon CPU, ${TASKS} tasks, scraped once a second`, value: scraped * 100, unit: '% of a core' },
    { what: 'the scrapes\' own cost (scraped less not scraped)', value: Math.max(0, scraped - idle) * 100, unit: '% of a core', target: 1 },
    { what: `daemon CPU per scrape (${BURST} back to back), i.e. % of a core at one a second`, value: perScrape * 1000, unit: 'ms', target: 10 },
    { what: 'scrape time p50', value: percentile(times, 50), unit: 'ms' },
    { what: 'scrape time max', value: Math.max(...times), unit: 'ms', extra: `${(bytes / 1024).toFixed(1)} KiB a scrape` },
  ])
} finally {
  await daemon.cleanup()
  await dir.remove()
}
