// `ctl add NAME --script PATH [options] [-- ARGS...]`: declare a task.
import { resolve } from 'node:path'
import type { Argv, CommandModule } from 'yargs'
import { DomainError } from '../../../core/errors.js'
import type { TaskView } from '../../../core/view.js'
import { numeric } from '../../numeric.js'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'

interface AddArgs extends CtlArgs {
  name: string
  script: string
  at?: string
  deadline?: string
  priority?: string
  front?: boolean
  preemptible?: boolean
  retries?: string
  restart?: string
  cron?: string
  tz?: string
  user?: string
  timeout?: string
  expect?: string
  onDeadline?: string
  missed?: string
  overlap?: string
  memory?: string
  cwd?: string
  env?: string[]
  envFrom?: string
  after?: string[]
  onSuccess?: string[]
  onFailure?: string[]
  node?: string[]
  '--'?: (string | number)[]
}

/** `--env K=V` pairs to an object; a pair without `=` is refused by name. */
export function parseEnvPairs(pairs: readonly string[]): Record<string, string> {
  const entries: [string, string][] = []
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new DomainError('invalid', `env: expected KEY=VALUE, got ${JSON.stringify(pair)}`)
    entries.push([pair.slice(0, eq), pair.slice(eq + 1)])
  }
  // fromEntries defines each key, so `__proto__=x` reaches the daemon (which refuses it by name)
  // instead of vanishing into an assignment to the prototype.
  return Object.fromEntries(entries)
}

/** The task input the flags describe; only flags given are sent, so the daemon's defaults apply. */
export function taskInputFromFlags(argv: AddArgs, cwd: string): Record<string, unknown> {
  const input: Record<string, unknown> = { name: argv.name, script: resolve(cwd, argv.script) }
  const args = argv['--']
  if (args !== undefined && args.length > 0) input['args'] = args.map(String)
  for (const key of ['at', 'deadline', 'priority', 'restart', 'cron', 'tz', 'user', 'timeout', 'expect', 'onDeadline', 'missed', 'overlap', 'memory'] as const) {
    if (argv[key] !== undefined) input[key] = argv[key]
  }
  if (argv.front !== undefined) input['front'] = argv.front
  if (argv.preemptible !== undefined) input['preemptible'] = argv.preemptible
  if (argv.retries !== undefined) input['retries'] = numeric(argv.retries)
  if (argv.cwd !== undefined) input['cwd'] = resolve(cwd, argv.cwd)
  if (argv.envFrom !== undefined) input['envFile'] = resolve(cwd, argv.envFrom)
  if (argv.env !== undefined) input['env'] = parseEnvPairs(argv.env)
  for (const key of ['after', 'onSuccess', 'onFailure'] as const) {
    if (argv[key] !== undefined) input[key] = argv[key].map(String)
  }
  if (argv.node !== undefined) input['nodes'] = argv.node.map(String)
  return input
}

export const addCommand: CommandModule<CtlArgs, AddArgs> = {
  command: 'add <name>',
  describe: 'declare a task (error if NAME exists); arguments for the script go after --',
  builder: (y: Argv<CtlArgs>) =>
    y
      .positional('name', { type: 'string', demandOption: true })
      .option('script', { type: 'string', demandOption: true, describe: 'executable file to run' })
      .option('at', { type: 'string', describe: 'when it becomes active: ISO 8601, now, +DURATION; manual: only by run or a trigger' })
      .option('node', { type: 'string', array: true, describe: 'in a cluster, a node it may run on (repeatable; default: any)' })
      .option('after', { type: 'string', array: true, describe: 'due only once this task succeeded in its cycle (repeatable)' })
      .option('on-success', { type: 'string', array: true, describe: 'make this task due when a run succeeds (repeatable)' })
      .option('on-failure', { type: 'string', array: true, describe: 'make this task due when it fails for good or misses its deadline (repeatable)' })
      .option('deadline', { type: 'string', describe: 'when it must have run; same forms' })
      .option('missed', { type: 'string', describe: 'cron slots the daemon was not there for: once (default: run once for all) or skip' })
      .option('overlap', { type: 'string', describe: 'a cron slot while the previous run goes on: skip (default, recorded), queue (run right after), replace (stop it, run anew)' })
      .option('on-deadline', { type: 'string', describe: 'at the deadline: run (late anyway, default), skip (not started: expired), kill (end the run)' })
      .option('priority', { type: 'string', describe: 'high, medium or low (default medium)' })
      .option('preemptible', { type: 'boolean', describe: 'its run may be stopped (queued again, no failure) for a task that would otherwise miss its deadline' })
      .option('front', { type: 'boolean', describe: 'go ahead of tasks of the same priority' })
      .option('retries', { type: 'string', describe: 'further attempts after a failure (default 3)' })
      .option('restart', { type: 'string', describe: 'never, on-failure or always (default on-failure)' })
      .option('cron', { type: 'string', describe: 'recurring schedule, 5 or 6 fields: "*/5 * * * *"' })
      .option('tz', { type: 'string', describe: 'time zone of the cron schedule (default: local)' })
      .option('user', { type: 'string', describe: 'user to run as (root daemon only)' })
      .option('timeout', { type: 'string', describe: 'kill the process group after this long: 30s, 5m' })
      .option('expect', { type: 'string', describe: 'how long a run should take, until its runs have shown it: 90s, 2h' })
      .option('memory', { type: 'string', describe: 'expected and maximum memory: 256M, 2G' })
      .option('cwd', { type: 'string', describe: 'working directory' })
      .option('env', { type: 'string', array: true, describe: 'environment K=V (repeatable)' })
      // Not --env-file: Node 20 takes that flag for itself wherever it stands on the command line.
      .option('env-from', { type: 'string', describe: 'a dotenv file (envFile) read at each start; --env wins over it' })
      .option('json', { type: 'boolean', describe: 'print the task as JSON' }) as unknown as Argv<AddArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      const task = await client.call<TaskView>('tasks.add', taskInputFromFlags(argv, process.cwd()))
      if (argv.json === true) printJson(task)
      else print(`added ${task.name}: ${task.state}, priority ${task.priority}`)
    }),
}
