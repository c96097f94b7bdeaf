// Several hosts, one queue: the supervisor on 1 and 3 nodes sharing PostgreSQL 15 (a throwaway server
// on loopback, fsync and synchronous commit on), against one daemon on LevelDB and against
// graphile-worker 0.16 (also PostgreSQL) on 1 and 3 worker processes, in the same run.
// Enqueue: dated tasks (the supervisor's by `ctl apply`, graphile-worker's by one add_jobs call).
// Dispatch: one-shots running fixtures/ok.sh as a child process, concurrency 8 a node, from the first
// enqueue to the last success.
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { makeWorkerUtils, Logger } from 'graphile-worker'
import { DaemonProcess, fixture, runCli } from '../test/helpers/daemon-process.js'
import { pgMissing, startPostgres } from '../test/helpers/postgres.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { waitFor } from '../test/helpers/wait.js'
import { parseArgs, report } from './report.js'

const { quick } = parseArgs()
const TASKS = quick ? 10_000 : 50_000
const RUNS = quick ? 300 : 1000
const CONCURRENCY = 8

if (pgMissing !== false) {
  console.log(`## cluster\n- skipped: ${pgMissing}`)
  process.exit(0)
}

const dir = await tempDir('supervisor-bench-')
const server = await startPostgres({ durable: true })

async function file(name: string, tasks: object[]): Promise<string> {
  const path = join(dir.path, `${name}.json`)
  await writeFile(path, JSON.stringify({ tasks }))
  return path
}

interface Figures {
  enqueue: number
  /** Seconds until every node holds the enqueued tasks in its queue. */
  everywhere: number
  dispatch: number
}

async function supervisor(label: string, nodes: number, store: string | null): Promise<Figures> {
  const daemons: DaemonProcess[] = []
  try {
    for (let i = 1; i <= nodes; i += 1) {
      const flags = ['--min-free-memory', '0', '--max-concurrent', String(CONCURRENCY), ...(store === null ? [] : ['--store', store, '--node', `n${i}`])]
      daemons.push(await DaemonProcess.start(join(dir.path, `${label}-home-${i}`), flags, { follow: false }))
    }
    const [first] = daemons as [DaemonProcess]
    const many = await file(`${label}-many`, Array.from({ length: TASKS }, (_, i) => ({ name: `later-${i}`, script: fixture('ok.sh'), at: '+1d' })))
    const start = performance.now()
    const applied = await first.ctl(['apply', many])
    if (applied.code !== 0) throw new Error(applied.stderr)
    const enqueue = (performance.now() - start) / 1000
    for (const daemon of daemons) {
      await waitFor(async () => (await daemon.ctlJson<{ tasks: number }>(['info'])).tasks >= TASKS || undefined, 'tasks on every node', 120_000, 50)
    }
    const everywhere = (performance.now() - start) / 1000
    const shots = await file(`${label}-shots`, Array.from({ length: RUNS }, (_, i) => ({ name: `shot-${i}`, script: fixture('ok.sh') })))
    const added = await first.ctl(['apply', shots])
    if (added.code !== 0) throw new Error(added.stderr)
    const done = async (): Promise<boolean> => (await first.ctlJson<unknown[]>(['list', '--state', 'succeeded'])).length >= RUNS
    await waitFor(done, 'all one-shots', 300_000, 250)
    const history = JSON.parse((await runCli(['ctl', '--home', first.home, 'history', '--json', '--limit', String(RUNS * 10)])).stdout) as { type: string; task: string; time: string }[]
    const times = (type: string): number[] => history.filter((e) => e.type === type && e.task.startsWith('shot-')).map((e) => Date.parse(e.time))
    const dispatch = RUNS / ((Math.max(...times('task.succeeded')) - Math.min(...times('task.added'))) / 1000)
    return { enqueue, everywhere, dispatch }
  } finally {
    for (const daemon of daemons) await daemon.cleanup()
  }
}

const GRAPHILE_NODE = fileURLToPath(new URL('./graphile-node.js', import.meta.url))

async function graphile(workers: number): Promise<Figures> {
  const url = await server.createDatabase()
  const utils = await makeWorkerUtils({ connectionString: url, logger: new Logger(() => () => undefined) })
  await utils.migrate()
  await utils.release()
  const children: ChildProcess[] = []
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    for (let i = 0; i < workers; i += 1) {
      const child = spawn(process.execPath, [GRAPHILE_NODE, url, String(CONCURRENCY), fixture('ok.sh')], { stdio: ['pipe', 'pipe', 'inherit'] })
      children.push(child)
      await new Promise<void>((resolve, reject) => {
        child.stdout?.once('data', () => resolve())
        child.once('exit', (code) => reject(new Error(`graphile-worker node exited ${code}`)))
      })
    }
    const add = (count: number, later: boolean): Promise<unknown> => client.query(
      `SELECT count(*) FROM graphile_worker.add_jobs((SELECT array_agg(ROW('job', '{}'::json, NULL, ${later ? "now() + interval '1 day'" : 'NULL'}, 1, NULL, NULL, NULL)::graphile_worker.job_spec) FROM generate_series(1, $1)))`,
      [count])
    const start = performance.now()
    await add(TASKS, true)
    const enqueue = (performance.now() - start) / 1000
    await client.query('DELETE FROM graphile_worker._private_jobs')
    const t0 = performance.now()
    await add(RUNS, false)
    await waitFor(async () => Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM graphile_worker._private_jobs')).rows[0]?.n) === 0 || undefined, 'graphile-worker drained', 300_000, 20)
    const dispatch = RUNS / ((performance.now() - t0) / 1000)
    return { enqueue, everywhere: enqueue, dispatch }
  } finally {
    for (const child of children) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.stdin?.end()
      await exited
    }
    await client.end()
  }
}

try {
  const level = await supervisor('level', 1, null)
  const one = await supervisor('pg1', 1, await server.createDatabase())
  const three = await supervisor('pg3', 3, await server.createDatabase())
  const gw1 = await graphile(1)
  const gw3 = await graphile(3)
  report('cluster', [
    { what: `enqueue ${TASKS} tasks, supervisor on LevelDB (ctl apply)`, value: TASKS / level.enqueue, unit: 'tasks/s' },
    { what: `enqueue ${TASKS} tasks, supervisor on PostgreSQL, 1 node (ctl apply)`, value: TASKS / one.enqueue, unit: 'tasks/s' },
    { what: `enqueue ${TASKS} tasks, supervisor on PostgreSQL, 3 nodes (ctl apply on one)`, value: TASKS / three.enqueue, unit: 'tasks/s', extra: `in every node's queue after ${three.everywhere.toFixed(2)} s` },
    { what: `enqueue ${TASKS} jobs, graphile-worker (one add_jobs call)`, value: TASKS / gw1.enqueue, unit: 'jobs/s' },
    { what: `dispatch ${RUNS} one-shots, supervisor on LevelDB, concurrency ${CONCURRENCY}`, value: level.dispatch, unit: 'runs/s' },
    { what: `dispatch ${RUNS} one-shots, supervisor on PostgreSQL, 1 node`, value: one.dispatch, unit: 'runs/s' },
    { what: `dispatch ${RUNS} one-shots, supervisor on PostgreSQL, 3 nodes`, value: three.dispatch, unit: 'runs/s', extra: `${(three.dispatch / one.dispatch).toFixed(2)}x 1 node` },
    { what: `dispatch ${RUNS} one-shots, graphile-worker, 1 worker`, value: gw1.dispatch, unit: 'runs/s' },
    { what: `dispatch ${RUNS} one-shots, graphile-worker, 3 workers`, value: gw3.dispatch, unit: 'runs/s', extra: `${(gw3.dispatch / gw1.dispatch).toFixed(2)}x 1 worker; supervisor 3 nodes / graphile 3 workers: ${(three.dispatch / gw3.dispatch).toFixed(2)}` },
  ])
} finally {
  await server.stop()
  await dir.remove()
}
