// One daemon on each store: the embedded LevelDB and PostgreSQL 15 (a throwaway server on loopback,
// fsync and synchronous commit on).
// Enqueue (tasks by `ctl apply`) and dispatch (one-shots from the first task.added to the last
// task.succeeded in the daemon's own log), side by side in the same run.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DaemonProcess, fixture, runCli } from '../test/helpers/daemon-process.js'
import { pgMissing, startPostgres } from '../test/helpers/postgres.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { waitFor } from '../test/helpers/wait.js'
import { parseArgs, report } from './report.js'

const { quick } = parseArgs()
const TASKS = quick ? 10_000 : 50_000
const RUNS = 300

if (pgMissing !== false) {
  console.log(`## stores\n- skipped: ${pgMissing}`)
  process.exit(0)
}

const dir = await tempDir('supervisor-bench-')
// Durable, as LevelDB's synced writes are: fsync and synchronous commits on.
const pg = await startPostgres({ durable: true })

async function file(name: string, tasks: object[]): Promise<string> {
  const path = join(dir.path, `${name}.json`)
  await writeFile(path, JSON.stringify({ tasks }))
  return path
}

/** Seconds to apply TASKS dated tasks, and runs/s for RUNS one-shots at concurrency 8, on one store. */
async function measure(label: string, store: string[]): Promise<{ enqueue: number; dispatch: number }> {
  const home = join(dir.path, `${label}-home`)
  const daemon = await DaemonProcess.start(home, ['--min-free-memory', '0', '--max-concurrent', '8', ...store], { follow: false })
  try {
    const many = await file(`${label}-many`, Array.from({ length: TASKS }, (_, i) => ({ name: `later-${i}`, script: fixture('ok.sh'), at: '+1d' })))
    const start = performance.now()
    const applied = await runCli(['ctl', '--home', home, 'apply', many])
    if (applied.code !== 0) throw new Error(applied.stderr)
    const enqueue = (performance.now() - start) / 1000
    const shots = await file(`${label}-shots`, Array.from({ length: RUNS }, (_, i) => ({ name: `shot-${i}`, script: fixture('ok.sh') })))
    const added = await runCli(['ctl', '--home', home, 'apply', shots])
    if (added.code !== 0) throw new Error(added.stderr)
    const done = async (): Promise<boolean> => {
      const list = JSON.parse((await runCli(['ctl', '--home', home, 'list', '--json', '--state', 'succeeded'])).stdout) as unknown[]
      return list.length >= RUNS
    }
    await waitFor(done, 'all one-shots', 120_000, 250)
    const history = JSON.parse((await runCli(['ctl', '--home', home, 'history', '--json', '--limit', String(RUNS * 8)])).stdout) as { type: string; task: string; time: string }[]
    const times = (type: string): number[] => history.filter((e) => e.type === type && e.task.startsWith('shot-')).map((e) => Date.parse(e.time))
    const dispatch = RUNS / ((Math.max(...times('task.succeeded')) - Math.min(...times('task.added'))) / 1000)
    return { enqueue, dispatch }
  } finally {
    await daemon.cleanup()
  }
}

try {
  const level = await measure('level', [])
  const postgres = await measure('pg', ['--store', await pg.createDatabase()])
  report('stores', [
    { what: `enqueue ${TASKS} tasks by ctl apply, LevelDB`, value: TASKS / level.enqueue, unit: 'tasks/s' },
    { what: `enqueue ${TASKS} tasks by ctl apply, PostgreSQL`, value: TASKS / postgres.enqueue, unit: 'tasks/s', extra: `${(postgres.enqueue / level.enqueue).toFixed(2)}x the LevelDB time` },
    { what: `dispatch of ${RUNS} one-shots, concurrency 8, LevelDB`, value: level.dispatch, unit: 'runs/s' },
    { what: `dispatch of ${RUNS} one-shots, concurrency 8, PostgreSQL`, value: postgres.dispatch, unit: 'runs/s', extra: `${(level.dispatch / postgres.dispatch).toFixed(2)}x the LevelDB time` },
  ])
} finally {
  await pg.stop()
  await dir.remove()
}
