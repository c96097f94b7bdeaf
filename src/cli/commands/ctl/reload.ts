// `ctl reload`: the daemon reads its --config file again (as SIGHUP does): tasks applied, live settings changed.
import type { CommandModule } from 'yargs'
import type { ReloadResult } from '../../../api/context.js'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'

/** One line a person reads: what the reload changed, and what waits for a restart. */
export function reloadSummary(result: ReloadResult): string {
  const { tasks } = result
  const parts = [`reloaded ${result.file}: ${tasks.added} added, ${tasks.updated} updated`]
  parts.push(result.settings.length === 0 ? 'no setting changed' : `settings changed: ${result.settings.join(', ')}`)
  if (result.needRestart.length > 0) parts.push(`needs a restart to change: ${result.needRestart.join(', ')}`)
  return parts.join('; ')
}

export const reloadCommand: CommandModule<CtlArgs, CtlArgs> = {
  command: 'reload',
  describe: 'read the daemon\'s --config file again: apply its tasks and its settings that can change live',
  handler: (argv) =>
    withClient(argv, async (client) => {
      const result = (await client.call('daemon.reload', {})) as ReloadResult
      if (argv.json === true) printJson(result)
      else print(reloadSummary(result))
    }),
}
