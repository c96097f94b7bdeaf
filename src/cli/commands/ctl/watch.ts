// `ctl watch [--json] [--since SEQ]`: stream events live until interrupted.
import type { Argv, CommandModule } from 'yargs'
import { numeric } from '../../numeric.js'
import { print, withClient, type CtlArgs } from '../../run-command.js'
import { eventLine } from './history.js'

interface WatchArgs extends CtlArgs {
  since?: string
}

export const watchCommand: CommandModule<CtlArgs, WatchArgs> = {
  command: 'watch',
  describe: 'stream events live until interrupted',
  builder: (y: Argv<CtlArgs>) =>
    y
      .option('json', { type: 'boolean', describe: 'one JSON event a line' })
      .option('since', { type: 'string', describe: 'first replay the stored events after this seq' }) as unknown as Argv<WatchArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      client.onEvent = (event) => print(argv.json === true ? JSON.stringify(event) : eventLine(event))
      process.once('SIGINT', () => process.exit(0))
      await client.call('events.subscribe', argv.since === undefined ? {} : { since: numeric(argv.since) })
      await client.closed()
    }),
}
