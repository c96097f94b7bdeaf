// `ctl list [--json]`: every task, a table by default.
import type { Argv, CommandModule } from 'yargs'
import { DomainError } from '../../../core/errors.js'
import type { TaskState } from '../../../core/types.js'
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

const STATES: readonly TaskState[] = ['scheduled', 'ready', 'running', 'retrying', 'succeeded', 'failed', 'stopped', 'expired', 'skipped']

interface ListArgs extends CtlArgs {
  state?: string[]
}

export const listCommand: CommandModule<CtlArgs, ListArgs> = {
  command: 'list',
  describe: 'list all tasks (--state: only those in these states)',
  builder: (y: Argv<CtlArgs>) =>
    y.option('json', { type: 'boolean', describe: 'print JSON' })
      .option('state', { type: 'string', array: true, describe: `only tasks in this state (repeatable): ${STATES.join(', ')}` }) as unknown as Argv<ListArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      const wanted = argv.state?.flatMap((s) => String(s).split(','))
      const bad = wanted?.find((s) => !(STATES as readonly string[]).includes(s))
      if (bad !== undefined) throw new DomainError('invalid', `--state: expected ${STATES.join('|')}, got ${JSON.stringify(bad)}`)
      const all = await client.call<TaskView[]>('tasks.list')
      const tasks = wanted === undefined ? all : all.filter((t) => wanted.includes(t.state))
      if (argv.json === true) printJson(tasks)
      else print(taskTable(tasks))
    }),
}
