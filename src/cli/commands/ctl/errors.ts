// `ctl errors [--json]`: recurring failures grouped per task and cause.
import type { Argv, CommandModule } from 'yargs'
import type { ErrorGroup } from '../../../core/failures.js'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'
import { shortDate, table } from '../../table.js'
import { visible } from '../../visible.js'

export const errorsCommand: CommandModule<CtlArgs, CtlArgs> = {
  command: 'errors',
  describe: 'recurring failures grouped per task and cause, most recent first',
  builder: (y: Argv<CtlArgs>) => y.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: (argv) =>
    withClient(argv, async (client) => {
      const groups = await client.call<ErrorGroup[]>('errors.list')
      if (argv.json === true) return printJson(groups)
      if (groups.length === 0) return print('no failures recorded')
      print(table(
        ['TASK', 'CAUSE', 'COUNT', 'FIRST SEEN', 'LAST SEEN', 'LAST STDERR'],
        groups.map((g) => [g.task, g.cause, String(g.count), shortDate(g.firstSeen), shortDate(g.lastSeen), g.stderr.split('\n').at(-1) ?? ''].map(visible)),
      ))
    }),
}
