// Start lateness of dated tasks while 100k others are pending, and of a task due when added.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Client } from '../src/cli/client.js'
import type { TaskEvent } from '../src/core/types.js'
import { DaemonProcess, fixture, runCli } from '../test/helpers/daemon-process.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { waitFor } from '../test/helpers/wait.js'
import { parseArgs, percentile, report } from './report.js'
import { writeTasks } from './tasks-file.js'

const { quick } = parseArgs()
// With --scrape, GET /metrics once a second throughout (as Prometheus would): the lateness must not change.
const SCRAPE = process.argv.includes('--scrape')
const PENDING = quick ? 20_000 : 100_000
const DATED = 200
const TICK = 25

const dir = await tempDir('supervisor-bench-')
const daemon = await DaemonProcess.start(join(dir.path, 'home'), ['--max-concurrent', '16', '--min-free-memory', '0'], { follow: false })
const client = await Client.connect(join(daemon.home, 'supervisor.sock'))
try {
  const pending = join(dir.path, 'pending.json')
  await writeTasks(pending, PENDING, 'pending')
  const applied = await runCli(['ctl', '--home', daemon.home, 'apply', pending])
  if (applied.code !== 0) throw new Error(applied.stderr)
  // Only the events from here on: the dated tasks and the ones added below.
  const events: TaskEvent[] = []
  client.onEvent = (event) => events.push(event)
  await client.call('events.subscribe')
  const started = (name: string): TaskEvent | undefined => events.find((e) => e.type === 'run.started' && e.task === name)

  // 200 tasks dated over the next 10 s, starting 3 s from now.
  const base = Date.now() + 3000
  const dated = Array.from({ length: DATED }, (_, i) => ({ name: `dated-${i}`, script: fixture('ok.sh'), at: new Date(base + i * 50).toISOString() }))
  const file = join(dir.path, 'dated.json')
  await writeFile(file, JSON.stringify({ tasks: dated }))
  const added = await runCli(['ctl', '--home', daemon.home, 'apply', file])
  if (added.code !== 0) throw new Error(added.stderr)
  const scraper = SCRAPE ? await scrapeEverySecond() : null
  await waitFor(() => dated.every((t) => started(t.name) !== undefined), 'dated starts', 60_000)
  if (scraper !== null) clearInterval(scraper)
  const lateness = dated.map((t, i) => Date.parse((started(t.name) as TaskEvent).time) - (base + i * 50))

  // A task due when added: from its task.added to its run.started.
  const nowLate: number[] = []
  for (let i = 0; i < 20; i += 1) {
    const name = `now-${i}`
    const result = await daemon.ctl(['add', name, '--script', fixture('ok.sh')])
    if (result.code !== 0) throw new Error(result.stderr)
    const start = await waitFor(() => started(name), `${name} to start`)
    const add = events.find((e) => e.type === 'task.added' && e.task === name) as TaskEvent
    nowLate.push(Date.parse(start.time) - Date.parse(add.time))
  }
  report(SCRAPE ? 'lateness, scraped once a second' : 'lateness', [
    { what: `dated start lateness p50, ${PENDING} pending, tick ${TICK} ms`, value: percentile(lateness, 50), unit: 'ms' },
    { what: `dated start lateness p99, ${PENDING} pending, tick ${TICK} ms`, value: percentile(lateness, 99), unit: 'ms', target: TICK + 10,
      extra: 'BullMQ delayed jobs: p99 94 ms (11 ms with hz 100); node-schedule with 100k pending: p99 376 ms' },
    { what: 'a task due when added: task.added to run.started, p50', value: percentile(nowLate, 50), unit: 'ms' },
    { what: 'a task due when added: task.added to run.started, max', value: Math.max(...nowLate), unit: 'ms' },
  ])
} finally {
  client.close()
  await daemon.cleanup()
  await dir.remove()
}

async function scrapeEverySecond(): Promise<NodeJS.Timeout> {
  const { token } = await daemon.ctlJson<{ token: string }>(['token', 'create', '--scope', 'read'])
  const url = `http://127.0.0.1:${daemon.port}/metrics`
  return setInterval(() => {
    fetch(url, { headers: { authorization: `Bearer ${token}` } }).then((res) => res.text(), () => '').catch(() => '')
  }, 1000)
}
