// `ctl apply FILE [--prune]`: add or update every task of an ecosystem file.
import type { Argv, CommandModule } from 'yargs'
import { loadEcosystem } from '../../../config/ecosystem.js'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'

interface ApplyArgs extends CtlArgs {
  file: string
  prune?: boolean
}

export const applyCommand: CommandModule<CtlArgs, ApplyArgs> = {
  command: 'apply <file>',
  describe: 'add or update every task of an ecosystem file',
  builder: (y: Argv<CtlArgs>) =>
    y
      .positional('file', { type: 'string', demandOption: true })
      .option('prune', { type: 'boolean', describe: 'remove tasks that are not in the file' })
      .option('json', { type: 'boolean', describe: 'print JSON' }) as unknown as Argv<ApplyArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      const ecosystem = await loadEcosystem(argv.file)
      const result = await client.call<{ added: number; updated: number; removed: number }>('tasks.apply', {
        tasks: ecosystem.tasks, prune: argv.prune === true, baseDir: ecosystem.baseDir,
      })
      if (argv.json === true) printJson(result)
      else print(`applied ${argv.file}: ${result.added} added, ${result.updated} updated, ${result.removed} removed`)
    }),
}
