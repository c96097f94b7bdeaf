// `ctl shutdown [--keep-running]`: stop the daemon gracefully, and wait until it has.
import type { Argv, CommandModule } from 'yargs'
import { print, withClient, type CtlArgs } from '../../run-command.js'

interface ShutdownArgs extends CtlArgs {
  keepRunning?: boolean
}

export const shutdownCommand: CommandModule<CtlArgs, ShutdownArgs> = {
  command: 'shutdown',
  describe: 'stop the daemon gracefully (--keep-running: leave the runs running, for the next daemon)',
  builder: (y: Argv<CtlArgs>) =>
    y.option('keep-running', { type: 'boolean', describe: 'leave running tasks running (to upgrade the daemon)' }) as Argv<ShutdownArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      const closed = client.closed()
      await client.call('daemon.shutdown', argv.keepRunning === true ? { keepRunning: true } : {})
      await closed
      print(argv.keepRunning === true ? 'daemon stopped; its runs go on' : 'daemon stopped')
    }),
}
