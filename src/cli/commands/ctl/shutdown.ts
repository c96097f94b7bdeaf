// `ctl shutdown`: stop the daemon gracefully, and wait until it has.
import type { CommandModule } from 'yargs'
import { print, withClient, type CtlArgs } from '../../run-command.js'

export const shutdownCommand: CommandModule<CtlArgs, CtlArgs> = {
  command: 'shutdown',
  describe: 'stop the daemon gracefully',
  handler: (argv) =>
    withClient(argv, async (client) => {
      const closed = client.closed()
      await client.call('daemon.shutdown')
      await closed
      print('daemon stopped')
    }),
}
