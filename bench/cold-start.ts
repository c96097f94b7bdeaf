// Cold start with 100k live tasks and a long history, against the raw LevelDB read of the same records.
import { join } from 'node:path'
import { Level } from 'level'
import { DaemonProcess, runCli } from '../test/helpers/daemon-process.js'
import { tempDir } from '../test/helpers/temp-dir.js'
import { parseArgs, report } from './report.js'
import { writeTasks } from './tasks-file.js'

const { quick } = parseArgs()
const LIVE = quick ? 20_000 : 100_000
const HISTORY_ROUNDS = quick ? 1 : 3

/** Open the database and read every task record, without the daemon: what a boot cannot do with less. */
async function rawRead(db: string): Promise<number> {
  const start = performance.now()
  const level = new Level<string, unknown>(db, { valueEncoding: 'json' })
  await level.open()
  const tasks = level.sublevel<string, unknown>('task', { valueEncoding: 'json' })
  let count = 0
  const iterator = tasks.iterator()
  for (let page = await iterator.nextv(1000); page.length > 0; page = await iterator.nextv(1000)) count += page.length
  await iterator.close()
  const ms = performance.now() - start
  await level.close()
  if (count !== LIVE) throw new Error(`expected ${LIVE} records, read ${count}`)
  return ms
}

/** From process start to its `listening` line. */
async function bootMs(home: string): Promise<number> {
  const start = performance.now()
  const daemon = await DaemonProcess.start(home, [], { follow: false })
  const ms = performance.now() - start
  await daemon.cleanup()
  return ms
}

const dir = await tempDir('supervisor-bench-')
try {
  const home = join(dir.path, 'home')
  const daemon = await DaemonProcess.start(home, [], { follow: false })
  // The same tasks applied with a changed definition each round: every round adds LIVE events of history.
  for (let round = 0; round <= HISTORY_ROUNDS; round += 1) {
    const file = join(dir.path, `round-${round}.json`)
    await writeTasks(file, LIVE, 'live', `+${round + 1}d`)
    const applied = await runCli(['ctl', '--home', home, 'apply', file])
    if (applied.code !== 0) throw new Error(applied.stderr)
  }
  await daemon.cleanup()
  // Both sides then open a database whose log LevelDB has already turned into tables (the first open
  // after big writes does that, and its cost would fall on whichever side came first), three times each.
  await rawRead(join(home, 'db'))
  const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
  const emptyHome = join(dir.path, 'empty')
  const empties: number[] = []
  const boots: number[] = []
  const raws: number[] = []
  for (let i = 0; i < 3; i += 1) {
    empties.push(await bootMs(emptyHome))
    boots.push(await bootMs(home))
    raws.push(await rawRead(join(home, 'db')))
  }
  const [empty, boot, raw] = [median(empties), median(boots), median(raws)]
  report('cold start', [
    { what: 'daemon start on an empty home (process start to listening), median of 3', value: empty, unit: 'ms' },
    { what: `raw LevelDB open and read of ${LIVE} task records (nextv 1000, JSON values), median of 3`, value: raw, unit: 'ms' },
    { what: `daemon start with ${LIVE} live tasks and ${(HISTORY_ROUNDS + 1) * LIVE} events of history, less the empty start, median of 3`, value: boot - empty, unit: 'ms',
      target: 1.5 * raw, extra: `${((boot - empty) / raw).toFixed(2)}x the raw read (target <= 1.5)` },
  ])
} finally {
  await dir.remove()
}
