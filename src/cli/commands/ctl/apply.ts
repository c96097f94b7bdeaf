// `ctl apply FILE [--prune]`: add or update every task of an ecosystem file.
import type { Argv, CommandModule } from 'yargs'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'

interface ApplyArgs extends CtlArgs {
  file: string
  prune?: boolean
}

/** Parts of at most ~512 KB of JSON each, so a file of any size fits the WebSocket frame limit. */
export function inParts<T>(tasks: readonly T[], maxBytes = 512 * 1024): T[][] {
  const parts: T[][] = [[]]
  let size = 0
  for (const task of tasks) {
    const bytes = JSON.stringify(task).length + 1
    if (size + bytes > maxBytes && (parts.at(-1)?.length ?? 0) > 0) {
      parts.push([])
      size = 0
    }
    parts.at(-1)?.push(task)
    size += bytes
  }
  return parts
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
      // Loaded on use: the schema library is the heaviest import, and only apply needs it on this side.
      const { readEcosystemForApply } = await import('../../../config/ecosystem.js')
      const ecosystem = await readEcosystemForApply(argv.file)
      const parts = inParts(ecosystem.tasks)
      for (const part of parts.slice(0, -1)) await client.call('tasks.apply', { tasks: part, more: true })
      const result = await client.call<{ added: number; updated: number; removed: number }>('tasks.apply', {
        tasks: parts.at(-1) ?? [], prune: argv.prune === true, baseDir: ecosystem.baseDir,
      })
      if (argv.json === true) printJson(result)
      else print(`applied ${argv.file}: ${result.added} added, ${result.updated} updated, ${result.removed} removed`)
    }),
}
