// Dispatch: one-shot scripts through the daemon (every start and exit persisted) against raw spawn.
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DaemonProcess, fixture, runCli } from '../test/helpers/daemon-process.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { waitFor } from '../test/helpers/wait.js'
import { Client } from '../src/cli/client.js'
import type { TaskEvent } from '../src/core/types.js'
import { parseArgs, percentile, report, type Row } from './report.js'

const { quick } = parseArgs()
const RUNS = quick ? 100 : 300
const ROUNDS = quick ? 1 : 3
const CONCURRENCY = 8
const SERVICES = 50

/**
 * Raw child_process.spawn of the same script, CONCURRENCY at a time; with `logs`, each run's stdout and
 * stderr appended to two new files of its own, as the daemon does (creating files while processes
 * fork is slow on this machine's kernel: ~0.5 ms a file instead of 35 µs).
 */
async function rawSpawn(count: number, logs?: string): Promise<number> {
  const start = performance.now()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      await new Promise<void>((resolve, reject) => {
        const fds = logs === undefined ? null : [openSync(join(logs, `${i}.out.log`), 'a', 0o600), openSync(join(logs, `${i}.err.log`), 'a', 0o600)]
        const child = spawn(fixture('ok.sh'), [], { stdio: fds === null ? 'ignore' : ['ignore', ...fds], detached: true })
        for (const fd of fds ?? []) closeSync(fd)
        child.once('error', reject)
        child.once('exit', () => resolve())
      })
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return performance.now() - start
}

async function applyAndWait(daemon: DaemonProcess, file: string, done: () => boolean): Promise<number> {
  const start = performance.now()
  const applied = await runCli(['ctl', '--home', daemon.home, 'apply', file])
  if (applied.code !== 0) throw new Error(applied.stderr)
  await waitFor(done, 'all tasks', 120_000)
  return performance.now() - start
}

/** Waits until the daemon has nothing ready or running, asking its status (no event stream to feed). */
async function drained(home: string): Promise<void> {
  const client = await Client.connect(join(home, 'supervisor.sock'))
  try {
    await waitFor(async () => {
      const status = await client.call<{ ready: number; running: number }>('daemon.status', {})
      return status.ready === 0 && status.running === 0
    }, 'all one-shots ended', 120_000, 5)
  } finally {
    client.close()
  }
}

/** From the first task.added to the last task.succeeded of the tasks named `prefix*`, in the daemon's own log. */
async function loggedSpan(home: string, prefix: string, runs: number): Promise<number> {
  const client = await Client.connect(join(home, 'supervisor.sock'))
  try {
    const events = (await client.call<TaskEvent[]>('history.list', { limit: 100_000 })).filter((e) => e.task.startsWith(prefix))
    const times = (type: string): number[] => events.filter((e) => e.type === type).map((e) => Date.parse(e.time))
    const succeeded = times('task.succeeded')
    if (succeeded.length !== runs) throw new Error(`${succeeded.length} of ${runs} one-shots succeeded`)
    return Math.max(...succeeded) - Math.min(...times('task.added'))
  } finally {
    client.close()
  }
}

const median = (values: number[]): number => percentile(values, 50)

const dir = await tempDir('supervisor-bench-')
const daemons: DaemonProcess[] = []
try {
  // No event stream on this one: following every event would cost the daemon and this process CPU
  // that raw spawn does not pay.
  const oneShots = await DaemonProcess.start(join(dir.path, 'one-shots'), ['--max-concurrent', String(CONCURRENCY), '--min-free-memory', '0'], { follow: false })
  daemons.push(oneShots)
  // Raw and daemon in alternation, ROUNDS times, each figure the median: this shared machine drifts
  // by up to 2x within minutes, and a ratio of two runs made minutes apart measures the drift.
  const rawMs: number[] = []
  const rawLoggedMs: number[] = []
  const wholeMs: number[] = []
  const spanMs: number[] = []
  for (let round = 0; round < ROUNDS; round += 1) {
    rawMs.push(await rawSpawn(RUNS))
    const rawLogs = join(dir.path, `raw-logs-${round}`)
    await mkdir(rawLogs)
    rawLoggedMs.push(await rawSpawn(RUNS, rawLogs))
    const file = join(dir.path, `one-shots-${round}.json`)
    await writeFile(file, JSON.stringify({ tasks: Array.from({ length: RUNS }, (_, i) => ({ name: `r${round}-job-${i}`, script: fixture('ok.sh') })) }))
    const start = performance.now()
    const applied = await runCli(['ctl', '--home', oneShots.home, 'apply', file])
    if (applied.code !== 0) throw new Error(applied.stderr)
    await drained(oneShots.home)
    wholeMs.push(performance.now() - start)
    spanMs.push(await loggedSpan(oneShots.home, `r${round}-`, RUNS))
  }
  const perRound = spanMs.map((span, i) => (span / (rawLoggedMs[i] as number)).toFixed(2)).join(', ')

  const services = await DaemonProcess.start(join(dir.path, 'services'), ['--max-concurrent', String(SERVICES), '--min-free-memory', '0'])
  daemons.push(services)
  const svcFile = join(dir.path, 'services.json')
  await writeFile(svcFile, JSON.stringify({ tasks: Array.from({ length: SERVICES }, (_, i) => ({ name: `svc-${i}`, script: fixture('sleep.sh'), args: ['30'] })) }))
  const onlineMs = await applyAndWait(services, svcFile, () => services.eventsOf('run.started').length >= SERVICES)

  const raw = median(rawMs)
  const rawLogged = median(rawLoggedMs)
  const span = median(spanMs)
  const whole = median(wholeMs)
  const rounds = `median of ${ROUNDS}`
  const rows: Row[] = [
    { what: `raw spawn of ${RUNS} one-shot scripts, concurrency ${CONCURRENCY} (${rounds})`, value: RUNS / (raw / 1000), unit: 'runs/s' },
    { what: `raw spawn, each run's output to two new log files (${rounds})`, value: RUNS / (rawLogged / 1000), unit: 'runs/s' },
    { what: `daemon: ${RUNS} one-shots, first task.added to last task.succeeded in its log, --max-concurrent ${CONCURRENCY} (${rounds})`, value: RUNS / (span / 1000), unit: 'runs/s',
      extra: `${(span / raw).toFixed(2)}x the raw time (target <= 1.2), ${(span / rawLogged).toFixed(2)}x raw with log files; each round against its own raw with logs: ${perRound}` },
    { what: `the same, from running ctl apply (a new Node process) to all ended (${rounds})`, value: RUNS / (whole / 1000), unit: 'runs/s',
      extra: `${(whole / raw).toFixed(2)}x the raw time` },
    { what: `${SERVICES} tasks from ctl apply to all running`, value: onlineMs, unit: 'ms', target: 755, extra: 'pm2 6: 755 ms for 50 apps to online' },
  ]
  report('dispatch', rows)
} finally {
  for (const d of daemons) await d.cleanup()
  await dir.remove()
}
