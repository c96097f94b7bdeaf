// `ctl list [--json]`: every task, a table by default.
import type { Argv, CommandModule } from 'yargs'
import type { TaskView } from '../../../core/view.js'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'
import { shortDate, table } from '../../table.js'

export function taskTable(tasks: readonly TaskView[]): string {
  if (tasks.length === 0) return 'no tasks'
  const priority = (t: TaskView): string => (t.priority === t.basePriority ? t.priority : `${t.priority} (was ${t.basePriority})`)
  const last = (t: TaskView): string => (t.lastOutcome === null ? '-' : `${t.lastOutcome}${t.lastExitCode === null ? '' : ` (${t.lastExitCode})`}`)
  return table(
    ['NAME', 'STATE', 'PRIORITY', 'NEXT', 'DEADLINE', 'ATTEMPTS', 'LAST', 'PID', 'WAITING'],
    tasks.map((t) => [
      t.name, t.state, priority(t), shortDate(t.nextRunAt), shortDate(t.deadline), String(t.attempts), last(t),
      t.pid === null ? '-' : String(t.pid), t.waitingReason ?? '-',
    ]),
  )
}

export const listCommand: CommandModule<CtlArgs, CtlArgs> = {
  command: 'list',
  describe: 'list all tasks',
  builder: (y: Argv<CtlArgs>) => y.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: (argv) =>
    withClient(argv, async (client) => {
      const tasks = await client.call<TaskView[]>('tasks.list')
      if (argv.json === true) printJson(tasks)
      else print(taskTable(tasks))
    }),
}
