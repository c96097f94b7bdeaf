// Anchors, side by side in one run: pm2 (apps to online, daemon RSS, jlist) and BullMQ on a private redis-server
// (addBulk, no-op worker throughput, delayed-job lateness) against the same figures of our daemon. Both tools are
// installed on demand into a cache folder outside the repository; a part that cannot run says why and is skipped.
import { execFile, spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { createServer, type AddressInfo } from 'node:net'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { DaemonProcess, fixture, runCli } from '../test/helpers/daemon-process.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { alive, waitFor } from '../test/helpers/wait.js'
import { daemonStats, mb } from './daemon-stats.js'
import { parseArgs, percentile, report, type Row } from './report.js'
import { writeTasks } from './tasks-file.js'

const { quick } = parseArgs()
const APPS = quick ? 20 : 50
const JOBS = quick ? 2000 : 10_000
const DELAYED = 200
const CONCURRENCY = 16
const LATENCY_RUNS = 10
/** Before each RSS reading, so a process just started or just busy has settled. */
const SETTLE_MS = 1000
const PM2_VERSION = '6.0.14'
const BULLMQ_VERSION = '5.81.5'
const CACHE = join(process.env['SUPERVISOR_BENCH_CACHE'] ?? join(homedir(), '.cache', 'supervisor-bench'), 'anchors')
const PM2_BIN = join(CACHE, 'node_modules', 'pm2', 'bin', 'pm2')

const execFileAsync = promisify(execFile)
/** Delays of the dated jobs and tasks: 1 to 3 s from when they are added. */
const delayOf = (i: number): number => 1000 + Math.floor((i * 2000) / DELAYED)

/** The few parts of BullMQ used here (it is loaded from the cache, without its types). */
interface Connection {
  host: string
  port: number
}
interface BullJob {
  timestamp: number
  opts: { delay?: number }
}
interface BullQueue {
  addBulk(jobs: { name: string; data: unknown; opts?: { delay: number } }[]): Promise<unknown>
  close(): Promise<void>
}
interface BullWorker {
  on(event: 'completed', listener: () => void): void
  close(): Promise<void>
}
interface BullMQ {
  Queue: new (name: string, opts: { connection: Connection }) => BullQueue
  Worker: new (name: string, processor: (job: BullJob) => Promise<void>, opts: { connection: Connection; concurrency: number }) => BullWorker
}

function skipped(title: string, why: string): void {
  console.log(`\n## ${title}\n- skipped: ${why}`)
}

/** The anchor's figure, then ours with the ratio ours/anchor. */
function side(anchor: string, theirs: [string, number], ours: [string, number], unit: string, extra?: string): Row[] {
  return [
    { what: `${anchor}: ${theirs[0]}`, value: theirs[1], unit, extra },
    { what: `supervisor: ${ours[0]}`, value: ours[1], unit, extra: `ours/${anchor} ${(ours[1] / theirs[1]).toFixed(2)}` },
  ]
}

async function installedVersion(name: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(CACHE, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return undefined
  }
}

/** pm2 and BullMQ at the pinned versions in CACHE, installed there when missing; why not, if they cannot be. */
async function install(): Promise<string | null> {
  if ((await installedVersion('pm2')) === PM2_VERSION && (await installedVersion('bullmq')) === BULLMQ_VERSION) return null
  await mkdir(CACHE, { recursive: true })
  // A package.json of its own, or npm would install into the nearest project above the cache.
  if (!existsSync(join(CACHE, 'package.json'))) await writeFile(join(CACHE, 'package.json'), '{ "private": true }\n')
  const args = ['install', '--no-save', '--no-audit', '--no-fund', `pm2@${PM2_VERSION}`, `bullmq@${BULLMQ_VERSION}`]
  const result = spawnSync('npm', args, { cwd: CACHE, encoding: 'utf8' })
  if (result.status === 0) return null
  return `npm install into ${CACHE} failed (${result.error?.message ?? result.stderr.trim().split('\n')[0]})`
}

async function rssMb(pid: number): Promise<number> {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(kb) / 1024
}

/** Wall times of `LATENCY_RUNS` calls of `command`. */
async function timed(command: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < LATENCY_RUNS; i += 1) {
    const start = performance.now()
    await command()
    times.push(performance.now() - start)
  }
  return times
}

/** Every process whose environment holds `PM2_HOME=home`: the pm2 daemon, its apps and their children. */
async function pm2Processes(home: string): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '')
    if (environ.split('\0').includes(`PM2_HOME=${home}`)) pids.push(Number(entry))
  }
  return pids
}

interface ServiceFigures {
  onlineMs: number
  idleMb: number
  fullMb: number
  listMs: number
}

/** pm2 with a private PM2_HOME: APPS apps from one ecosystem file, its God daemon's RSS, `pm2 jlist`. */
async function pm2Figures(dir: string): Promise<ServiceFigures & { startMs: number }> {
  const home = join(dir, 'pm2')
  const pm2 = (args: string[]): Promise<{ stdout: string }> =>
    execFileAsync(process.execPath, [PM2_BIN, ...args], { env: { ...process.env, PM2_HOME: home }, maxBuffer: 256 * 1024 * 1024 })
  const jlist = async (): Promise<{ pm2_env: { status: string } }[]> =>
    JSON.parse((await pm2(['jlist'])).stdout.trim().split('\n').at(-1) ?? '') as { pm2_env: { status: string } }[]
  try {
    await pm2(['ping'])
    const god = Number(await readFile(join(home, 'pm2.pid'), 'utf8'))
    await sleep(SETTLE_MS)
    const idleMb = await rssMb(god)
    const eco = join(dir, 'eco.config.js')
    const apps = Array.from({ length: APPS }, (_, i) => ({ name: `app-${i}`, script: fixture('sleep.sh'), args: '30', interpreter: 'none' }))
    await writeFile(eco, `module.exports = ${JSON.stringify({ apps })}\n`)
    const start = performance.now()
    await pm2(['start', eco])
    const startMs = performance.now() - start
    await waitFor(async () => (await jlist()).filter((app) => app.pm2_env.status === 'online').length >= APPS, 'pm2 apps online', 60_000)
    const onlineMs = performance.now() - start
    await sleep(SETTLE_MS)
    const fullMb = await rssMb(god)
    const listMs = percentile(await timed(jlist), 50)
    return { startMs, onlineMs, idleMb, fullMb, listMs }
  } finally {
    await pm2(['kill']).catch((error: Error) => console.log(`(pm2 kill failed: ${error.message})`))
    await waitFor(async () => (await pm2Processes(home)).length === 0, 'pm2 processes to end', 5000).catch(() => undefined)
    const left = await pm2Processes(home)
    for (const pid of left) if (alive(pid)) process.kill(pid, 'SIGKILL')
    if (left.length > 0) console.log(`(pm2 kill left ${left.length} processes behind; SIGKILLed)`)
  }
}

/** Our daemon: APPS long-running tasks from `ctl apply` to all running, its RSS, `ctl list`. */
async function ourServiceFigures(dir: string): Promise<ServiceFigures> {
  const daemon = await DaemonProcess.start(join(dir, 'services'), ['--max-concurrent', String(APPS), '--min-free-memory', '0'])
  try {
    await sleep(SETTLE_MS)
    const idleMb = mb((await daemonStats(daemon.home)).memory.rss)
    const file = join(dir, 'services.json')
    await writeFile(file, JSON.stringify({ tasks: Array.from({ length: APPS }, (_, i) => ({ name: `svc-${i}`, script: fixture('sleep.sh'), args: ['30'] })) }))
    const start = performance.now()
    const applied = await runCli(['ctl', '--home', daemon.home, 'apply', file])
    if (applied.code !== 0) throw new Error(applied.stderr)
    await waitFor(() => daemon.eventsOf('run.started').length >= APPS, 'all tasks running', 60_000)
    const onlineMs = performance.now() - start
    await sleep(SETTLE_MS)
    const fullMb = mb((await daemonStats(daemon.home)).memory.rss)
    const listMs = percentile(await timed(async () => {
      const listed = await runCli(['ctl', '--home', daemon.home, 'list'])
      if (listed.code !== 0) throw new Error(listed.stderr)
    }), 50)
    return { onlineMs, idleMb, fullMb, listMs }
  } finally {
    await daemon.cleanup()
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** A redis-server of our own on loopback, no persistence, its files in `dir`. */
async function startRedis(dir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort()
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.kill('SIGTERM')
    await exited
    clearTimeout(timer)
  }
  let output = ''
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000)
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString()
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`redis-server exited with ${code}:\n${output}`))
      })
    })
  } catch (error) {
    await stop()
    throw error
  }
  return { port, stop }
}

interface QueueFigures {
  addMs: number
  workMs: number
  lateness: number[]
}

/** BullMQ on redis at `port`: addBulk of JOBS jobs, a no-op worker through them, and DELAYED delayed jobs' lateness. */
async function bullmqFigures(port: number): Promise<QueueFigures> {
  const { Queue, Worker } = createRequire(join(CACHE, 'package.json'))('bullmq') as BullMQ
  const connection = { host: '127.0.0.1', port }
  const open: { close(): Promise<void> }[] = []
  try {
    const queue = new Queue('throughput', { connection })
    open.push(queue)
    const jobs = Array.from({ length: JOBS }, (_, i) => ({ name: 'noop', data: { i } }))
    let start = performance.now()
    await queue.addBulk(jobs)
    const addMs = performance.now() - start
    let completed = 0
    start = performance.now()
    const worker = new Worker('throughput', async () => {}, { connection, concurrency: CONCURRENCY })
    open.push(worker)
    worker.on('completed', () => (completed += 1))
    await waitFor(() => completed >= JOBS, 'BullMQ jobs completed', 120_000)
    const workMs = performance.now() - start

    // Delayed jobs onto an idle worker: lateness = processing start - (added + delay).
    const lateness: number[] = []
    const delayed = new Queue('delayed', { connection })
    open.push(delayed)
    open.push(new Worker('delayed', async (job) => {
      lateness.push(Date.now() - (job.timestamp + (job.opts.delay ?? 0)))
    }, { connection, concurrency: CONCURRENCY }))
    await delayed.addBulk(Array.from({ length: DELAYED }, (_, i) => ({ name: 'dated', data: { i }, opts: { delay: delayOf(i) } })))
    await waitFor(() => lateness.length >= DELAYED, 'BullMQ delayed jobs', 30_000)
    return { addMs, workMs, lateness }
  } finally {
    for (const closable of open.reverse()) await closable.close()
  }
}

/** Our daemon: JOBS dated tasks through `ctl apply`, then on a fresh daemon DELAYED dated tasks' lateness. */
async function ourQueueFigures(dir: string): Promise<Omit<QueueFigures, 'workMs'>> {
  const queue = await DaemonProcess.start(join(dir, 'enqueue'), [], { follow: false })
  let addMs: number
  try {
    const file = join(dir, 'enqueue.json')
    await writeTasks(file, JOBS, 'enqueue')
    const start = performance.now()
    const applied = await runCli(['ctl', '--home', queue.home, 'apply', file])
    addMs = performance.now() - start
    if (applied.code !== 0) throw new Error(applied.stderr)
  } finally {
    await queue.cleanup()
  }
  const daemon = await DaemonProcess.start(join(dir, 'lateness'), ['--max-concurrent', String(CONCURRENCY), '--min-free-memory', '0'])
  try {
    const base = Date.now()
    const dated = Array.from({ length: DELAYED }, (_, i) => ({ name: `dated-${i}`, script: fixture('ok.sh'), at: new Date(base + delayOf(i)).toISOString() }))
    const file = join(dir, 'dated.json')
    await writeFile(file, JSON.stringify({ tasks: dated }))
    const applied = await runCli(['ctl', '--home', daemon.home, 'apply', file])
    if (applied.code !== 0) throw new Error(applied.stderr)
    await waitFor(() => daemon.eventsOf('run.started').length >= DELAYED, 'dated starts', 30_000)
    const lateness = dated.map((t, i) => Date.parse(daemon.eventsOf('run.started', t.name)[0]?.time ?? '') - (base + delayOf(i)))
    return { addMs, lateness }
  } finally {
    await daemon.cleanup()
  }
}

async function pm2Section(dir: string): Promise<void> {
  const theirs = await pm2Figures(dir)
  const ours = await ourServiceFigures(dir)
  report(`anchors: pm2 ${PM2_VERSION}, ${APPS} apps (fixtures/sleep.sh 30)`, [
    ...side('pm2', [`${APPS} apps from pm2 start to all online in jlist`, theirs.onlineMs], [`${APPS} tasks from ctl apply to all running`, ours.onlineMs], 'ms',
      `pm2 start returned after ${theirs.startMs.toFixed(0)} ms`),
    ...side('pm2', ['daemon RSS idle', theirs.idleMb], ['daemon RSS idle', ours.idleMb], 'MB'),
    ...side('pm2', [`daemon RSS with ${APPS} apps`, theirs.fullMb], [`daemon RSS with ${APPS} services`, ours.fullMb], 'MB'),
    ...side('pm2', [`pm2 jlist, median of ${LATENCY_RUNS}`, theirs.listMs], [`ctl list, median of ${LATENCY_RUNS}`, ours.listMs], 'ms'),
  ])
}

async function bullmqSection(dir: string): Promise<void> {
  const title = `anchors: BullMQ ${BULLMQ_VERSION}`
  const version = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (version.error !== undefined) return skipped(title, 'redis-server not installed (apt-get install redis-server)')
  const redisDir = join(dir, 'redis')
  await mkdir(redisDir)
  const redis = await startRedis(redisDir)
  let theirs: QueueFigures
  try {
    theirs = await bullmqFigures(redis.port)
  } finally {
    await redis.stop()
  }
  const ours = await ourQueueFigures(dir)
  const rate = (ms: number): number => JOBS / (ms / 1000)
  report(`${title} on redis-server ${/v=(\S+)/.exec(version.stdout)?.[1] ?? '?'} (loopback, no persistence)`, [
    ...side('BullMQ', [`Queue.addBulk of ${JOBS} jobs`, rate(theirs.addMs)], [`ctl apply of ${JOBS} tasks (whole CLI process)`, rate(ours.addMs)], 'jobs/s'),
    { what: `BullMQ: no-op worker through ${JOBS} jobs, concurrency ${CONCURRENCY}`, value: rate(theirs.workMs), unit: 'jobs/s' },
    ...side('BullMQ', [`delayed-job start lateness p50, ${DELAYED} jobs delayed 1-3 s`, percentile(theirs.lateness, 50)],
      [`dated-task start lateness p50, ${DELAYED} tasks dated 1-3 s ahead`, percentile(ours.lateness, 50)], 'ms'),
    ...side('BullMQ', [`delayed-job start lateness p99`, percentile(theirs.lateness, 99)], ['dated-task start lateness p99', percentile(ours.lateness, 99)], 'ms'),
  ])
}

const dir = await tempDir('supervisor-bench-')
try {
  const missing = await install()
  if (missing === null) {
    await pm2Section(dir.path)
    await bullmqSection(dir.path)
  } else {
    skipped(`anchors: pm2 ${PM2_VERSION}`, missing)
    skipped(`anchors: BullMQ ${BULLMQ_VERSION}`, missing)
  }
} finally {
  await dir.remove()
}
