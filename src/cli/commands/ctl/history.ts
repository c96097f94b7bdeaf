// `ctl history [NAME] [--limit N] [--json]`: the event history, oldest first.
import type { Argv, CommandModule } from 'yargs'
import type { TaskEvent } from '../../../core/types.js'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'
import { numeric } from '../../numeric.js'
import { shortDate } from '../../table.js'
import { visible } from '../../visible.js'

interface HistoryArgs extends CtlArgs {
  name?: string
  limit?: string
}

/** One line an event: seq, local time, type, task, then its own fields (control characters shown). */
export function eventLine(event: TaskEvent): string {
  const { seq, time, type, task, ...rest } = event
  const details = Object.entries(rest)
    .filter(([key]) => key !== 'spec')
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
  return visible([String(seq).padStart(6), shortDate(time), type.padEnd(14), task, ...details].join('  '))
}

export const historyCommand: CommandModule<CtlArgs, HistoryArgs> = {
  command: 'history [name]',
  describe: 'the event history, oldest first (the latest N events)',
  builder: (y: Argv<CtlArgs>) =>
    y
      .positional('name', { type: 'string' })
      .option('limit', { type: 'string', describe: 'how many of the latest events (default 1000)' })
      .option('json', { type: 'boolean', describe: 'print JSON' }) as unknown as Argv<HistoryArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      const params = { ...(argv.name === undefined ? {} : { task: argv.name }), ...(argv.limit === undefined ? {} : { limit: numeric(argv.limit) }) }
      const events = await client.call<TaskEvent[]>('history.list', params)
      if (argv.json === true) printJson(events)
      else print(events.length === 0 ? 'no events' : events.map(eventLine).join('\n'))
    }),
}
