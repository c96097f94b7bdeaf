// Dispatch: one-shot scripts through the daemon (every start and exit persisted) against raw spawn.
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DaemonProcess, fixture, runCli } from '../test/helpers/daemon-process.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { waitFor } from '../test/helpers/wait.js'
import { parseArgs, report, type Row } from './report.js'

const { quick } = parseArgs()
const RUNS = quick ? 100 : 300
const CONCURRENCY = 8
const SERVICES = 50

/** Raw child_process.spawn of the same script, CONCURRENCY at a time. */
async function rawSpawn(count: number): Promise<number> {
  const start = performance.now()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1
      await new Promise<void>((resolve, reject) => {
        const child = spawn(fixture('ok.sh'), [], { stdio: 'ignore', detached: true })
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

const dir = await tempDir('supervisor-bench-')
const daemons: DaemonProcess[] = []
try {
  const rawMs = await rawSpawn(RUNS)
  const oneShots = await DaemonProcess.start(join(dir.path, 'one-shots'), ['--max-concurrent', String(CONCURRENCY), '--min-free-memory', '0'])
  daemons.push(oneShots)
  const file = join(dir.path, 'one-shots.json')
  await writeFile(file, JSON.stringify({ tasks: Array.from({ length: RUNS }, (_, i) => ({ name: `job-${i}`, script: fixture('ok.sh') })) }))
  const daemonMs = await applyAndWait(oneShots, file, () => oneShots.eventsOf('task.succeeded').length >= RUNS)

  const services = await DaemonProcess.start(join(dir.path, 'services'), ['--max-concurrent', String(SERVICES), '--min-free-memory', '0'])
  daemons.push(services)
  const svcFile = join(dir.path, 'services.json')
  await writeFile(svcFile, JSON.stringify({ tasks: Array.from({ length: SERVICES }, (_, i) => ({ name: `svc-${i}`, script: fixture('sleep.sh'), args: ['30'] })) }))
  const onlineMs = await applyAndWait(services, svcFile, () => services.eventsOf('run.started').length >= SERVICES)

  const rows: Row[] = [
    { what: `raw spawn of ${RUNS} one-shot scripts, concurrency ${CONCURRENCY}`, value: RUNS / (rawMs / 1000), unit: 'runs/s' },
    { what: `daemon: ${RUNS} one-shots from ctl apply to all succeeded, --max-concurrent ${CONCURRENCY}`, value: RUNS / (daemonMs / 1000), unit: 'runs/s',
      extra: `${(daemonMs / rawMs).toFixed(2)}x the raw time (target <= 1.2)` },
    { what: `${SERVICES} tasks from ctl apply to all running`, value: onlineMs, unit: 'ms', target: 755, extra: 'pm2 6: 755 ms for 50 apps to online' },
  ]
  report('dispatch', rows)
} finally {
  for (const d of daemons) await d.cleanup()
  await dir.remove()
}
