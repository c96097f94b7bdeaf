// `ctl status NAME [--json]`: one task, and why it waits if it is due but not running.
import type { Argv, CommandModule } from 'yargs'
import type { TaskView } from '../../../core/view.js'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'
import { shortDate } from '../../table.js'
import { visible } from '../../visible.js'
import { formatSize } from '../../../core/admission.js'

interface NameArgs extends CtlArgs {
  name: string
}

/** A task as `status` shows it: the view and, from the daemon, where its logs are. */
type StatusView = TaskView & { logs?: { out: string; err: string } }

export function describeTask(t: StatusView, now = Date.now()): string {
  const rows: [string, string][] = [
    ['name', t.name],
    ['state', t.state],
    ['priority', t.priority === t.basePriority ? t.priority : `${t.priority} (base ${t.basePriority})`],
    ['at', shortDate(t.at)],
    ['cron', t.cron === null ? '-' : `${t.cron}${t.tz === null ? '' : ` (${t.tz})`}`],
    ...(t.cron === null ? [] : [['cron slots', `overlap: ${t.overlap}, missed: ${t.missed}`] as [string, string]]),
    ['next run', shortDate(t.nextRunAt)],
    ['deadline', t.deadline === null ? '-' : `${shortDate(t.deadline)} (on deadline: ${t.onDeadline})`],
    ...workflowRows(t),
    ['attempts', `${t.attempts} (retries ${t.retries}, restart ${t.restart})${t.preemptible ? ', preemptible' : ''}`],
    ['last outcome', t.lastOutcome === null ? '-' : `${t.lastOutcome}, exit code ${t.lastExitCode ?? '-'}`],
    ['pid', t.pid === null ? '-' : String(t.pid)],
    ['uptime', t.runStartedAt === null ? '-' : `${duration(now - Date.parse(t.runStartedAt))} (since ${shortDate(t.runStartedAt)})`],
    ['script', [t.script, ...t.args].map(shellQuote).join(' ')],
    ['cwd', t.cwd ?? '-'],
    ['user', t.user ?? '-'],
    ['env', t.envNames.length === 0 ? '-' : t.envNames.join(' ')],
    ['env file', t.envFile ?? '-'],
    ['timeout', t.timeoutMs === null ? '-' : duration(t.timeoutMs)],
    ['expected', t.expectedDurationMs === null ? '-' : `${duration(t.expectedDurationMs)}${t.expectMs === null || t.expectedDurationMs !== t.expectMs ? ' (learned from its runs)' : ' (its expect)'}`],
    ['memory', t.memoryBytes === null ? '-' : formatSize(t.memoryBytes)],
  ]
  if (t.logs !== undefined) rows.push(['stdout log', t.logs.out], ['stderr log', t.logs.err])
  if (t.waitingReason !== null) rows.push(['waiting', t.waitingReason])
  if (t.stopping !== null) rows.push(['stopping', `${t.stopping.cause}${t.stopping.killAt === null ? ', SIGKILL sent' : `, SIGKILL at ${shortDate(t.stopping.killAt)} if still running`}`])
  return rows.map(([k, v]) => `${`${k}:`.padEnd(14)}${visible(v)}`).join('\n')
}

/** Its place in workflows: what it waits for, what waits for it, what it triggers; nothing when none. */
function workflowRows(t: StatusView): [string, string][] {
  const names = (list: readonly string[]): string => list.join(', ')
  const rows: [string, string][] = []
  if (t.manual) rows.push(['due', 'only by run, replay or a trigger (at: manual)'])
  if (t.after.length > 0) rows.push(['after', names(t.after)])
  if (t.dependents.length > 0) rows.push(['before', names(t.dependents)])
  if (t.onSuccess.length > 0) rows.push(['on success', names(t.onSuccess)])
  if (t.onFailure !== null && t.onFailure.length > 0) rows.push(['on failure', names(t.onFailure)])
  return rows
}

/** An argument as a POSIX shell would need it written: bare when safe, else in single quotes. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

/** 5025000 -> "1h 23m 45s": the largest two units that say it. */
function duration(ms: number): string {
  const parts: string[] = []
  let rest = Math.max(0, Math.round(ms / 1000))
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size || (unit === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    }
  }
  return parts.slice(0, 2).join(' ')
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
