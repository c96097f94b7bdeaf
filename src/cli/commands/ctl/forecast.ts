// `ctl forecast [--json] [--horizon DURATION]`: when the queued work is expected to run, as a timeline.
import type { Argv, CommandModule } from 'yargs'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'
import { shortDate } from '../../table.js'
import { visible } from '../../visible.js'
import { parseDuration } from '../../../config/units.js'

interface ForecastArgs extends CtlArgs {
  horizon?: string
}

export interface ForecastRow {
  task: string
  start: string
  /** Null for a service, which holds its slot. */
  end: string | null
  deadline: string | null
  atRisk: boolean
  running: boolean
}

/** Columns of the timeline bar. */
const WIDTH = 40

/**
 * One line a run: its name, when it starts and ends, and a bar over the horizon: `=` running, `#`
 * queued, `|` its deadline, `!` at the end when it is at risk of missing it.
 */
export function timeline(rows: readonly ForecastRow[], now: number, horizonEnd: number): string {
  if (rows.length === 0) return 'nothing queued within the horizon'
  const name = Math.max(4, ...rows.map((r) => r.task.length))
  const col = (ms: number): number => Math.max(0, Math.min(WIDTH - 1, Math.floor(((ms - now) / (horizonEnd - now)) * WIDTH)))
  const date = shortDate(new Date(now).toISOString()).length
  const header = `${'TASK'.padEnd(name)}  ${'START'.padEnd(date)}  ${'END'.padEnd(date)}  ${shortDate(new Date(now).toISOString())} .. ${shortDate(new Date(horizonEnd).toISOString())}`
  const lines = rows.map((row) => {
    const start = Date.parse(row.start)
    const end = row.end === null ? horizonEnd : Date.parse(row.end)
    const bar = Array.from({ length: WIDTH }, () => ' ')
    for (let c = col(start); c <= col(end); c += 1) bar[c] = row.running ? '=' : '#'
    if (row.deadline !== null && Date.parse(row.deadline) <= horizonEnd) bar[col(Date.parse(row.deadline))] = '|'
    const ends = row.end === null ? 'service' : shortDate(row.end)
    return `${row.task.padEnd(name)}  ${shortDate(row.start).padEnd(date)}  ${ends.padEnd(date)}  [${bar.join('')}]${row.atRisk ? ' ! at risk' : ''}`
  })
  return visible([header, ...lines].join('\n'))
}

export const forecastCommand: CommandModule<CtlArgs, ForecastArgs> = {
  command: 'forecast',
  describe: 'when queued work is expected to run: runs going on, then due and scheduled tasks, by start',
  builder: (y: Argv<CtlArgs>) =>
    y
      .option('horizon', { type: 'string', describe: 'how far ahead (default 24h): 6h, 2d' })
      .option('json', { type: 'boolean', describe: 'print JSON rows {task, start, end, deadline, atRisk, running}' }) as unknown as Argv<ForecastArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      const asked = Date.now()
      const rows = await client.call<ForecastRow[]>('forecast.list', argv.horizon === undefined ? {} : { horizon: argv.horizon })
      if (argv.json === true) return printJson(rows)
      // The daemon accepted the horizon: it parses.
      const horizonMs = argv.horizon === undefined ? DEFAULT_HORIZON_MS : (parseDuration(argv.horizon) as number)
      print(timeline(rows, asked, asked + horizonMs))
    }),
}

const DEFAULT_HORIZON_MS = 24 * 3_600_000
