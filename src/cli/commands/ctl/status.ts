// `ctl status NAME [--json]`: one task, and why it waits if it is due but not running.
import type { Argv, CommandModule } from 'yargs'
import type { TaskView } from '../../../core/view.js'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'
import { shortDate } from '../../table.js'
import { visible } from '../../visible.js'

interface NameArgs extends CtlArgs {
  name: string
}

export function describeTask(t: TaskView): string {
  const rows: [string, string][] = [
    ['name', t.name],
    ['state', t.state],
    ['priority', t.priority === t.basePriority ? t.priority : `${t.priority} (base ${t.basePriority})`],
    ['at', shortDate(t.at)],
    ['next run', shortDate(t.nextRunAt)],
    ['deadline', shortDate(t.deadline)],
    ['attempts', `${t.attempts} (retries ${t.retries}, restart ${t.restart})`],
    ['last outcome', t.lastOutcome === null ? '-' : `${t.lastOutcome}, exit code ${t.lastExitCode ?? '-'}`],
    ['pid', t.pid === null ? '-' : String(t.pid)],
    ['script', [t.script, ...t.args].join(' ')],
  ]
  if (t.waitingReason !== null) rows.push(['waiting', t.waitingReason])
  return rows.map(([k, v]) => `${`${k}:`.padEnd(14)}${visible(v)}`).join('\n')
}

export const statusCommand: CommandModule<CtlArgs, NameArgs> = {
  command: 'status <name>',
  describe: 'show one task',
  builder: (y: Argv<CtlArgs>) =>
    y.positional('name', { type: 'string', demandOption: true }).option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: (argv) =>
    withClient(argv, async (client) => {
      const task = await client.call<TaskView>('tasks.get', { name: argv.name })
      if (argv.json === true) printJson(task)
      else print(describeTask(task))
    }),
}
