// `ctl logs [NAME] [--lines N] [--follow] [--timestamps]`: a task's captured stdout and stderr, or every task's (each
// line prefixed with its task's name, as `pm2 logs` does).
import type { Argv, CommandModule } from 'yargs'
import { numeric } from '../../numeric.js'
import type { LogChunk } from '../../../runtime/log-reader.js'
import type { Client } from '../../client.js'
import type { TaskView } from '../../../core/view.js'
import { withClient, type CtlArgs } from '../../run-command.js'
import { visible } from '../../visible.js'

interface LogsArgs extends CtlArgs {
  name?: string
  lines?: string
  follow?: boolean
  timestamps?: boolean
}

type Logs = { out: LogChunk; err: LogChunk }

const FOLLOW_EVERY_MS = 300

/** Escapes shown, not obeyed: a task's output must not drive the terminal of whoever reads it. */
function write(logs: Logs): void {
  process.stdout.write(visible(logs.out.text))
  process.stderr.write(visible(logs.err.text))
}

export const logsCommand: CommandModule<CtlArgs, LogsArgs> = {
  command: 'logs [name]',
  describe: "a task's captured stdout (to stdout) and stderr (to stderr); without a name, every task's, each line prefixed with its name",
  builder: (y: Argv<CtlArgs>) =>
    y
      .positional('name', { type: 'string' })
      .option('lines', { type: 'string', describe: 'how many of the last lines of each (default 100)' })
      .option('follow', { type: 'boolean', alias: 'f', describe: 'keep printing what is appended, until interrupted' })
      .option('timestamps', { type: 'boolean', alias: 't', describe: 'each line with the time it was written (ISO 8601, UTC)' }) as unknown as Argv<LogsArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      const stamps = argv.timestamps === true ? { timestamps: true } : {}
      const lines = { ...stamps, ...(argv.lines === undefined ? {} : { lines: numeric(argv.lines) }) }
      if (argv.name === undefined) return allLogs(client, lines, stamps, argv.follow === true)
      let logs = await client.call<Logs & { node?: string }>('tasks.logs', { name: argv.name, ...lines })
      if (logs.node !== undefined) {
        process.stderr.write(`note: the last run of "${argv.name}" was on node "${logs.node}": its logs are kept there (run ctl logs on that host); these are this node's\n`)
      }
      write(logs)
      if (argv.follow !== true) return
      const closed = client.closed()
      let open = true
      void closed.then(() => (open = false))
      process.once('SIGINT', () => process.exit(0))
      while (open) {
        // An answer is bounded (a MiB a stream): while the daemon says there is more, ask again at once.
        const behind = logs.out.more === true || logs.err.more === true
        if (!behind) await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS))])
        if (!open) break
        logs = await client.call<Logs>('tasks.logs', { name: argv.name, ...stamps, from: { out: logs.out.offset, err: logs.err.offset } })
        write(logs)
      }
    }),
}

/** What has been printed of one task's two logs: where to read on, and a line not finished yet. */
interface Followed {
  offsets: { out: number; err: number }
  partial: { out: string; err: string }
}

/**
 * Every task's logs, each line prefixed with its task's name: the last lines of each, then (with
 * --follow) what is appended, picking up tasks added meanwhile and dropping removed ones.
 */
async function allLogs(client: Client, lines: { lines?: number | string | undefined; timestamps?: boolean }, stamps: { timestamps?: boolean }, follow: boolean): Promise<void> {
  const followed = new Map<string, Followed>()
  const names = async (): Promise<string[]> => (await client.call<TaskView[]>('tasks.list')).map((t) => t.name)
  let known = await names()
  let width = Math.max(0, ...known.map((n) => n.length))
  for (const name of known) {
    const logs = await client.call<Logs>('tasks.logs', { name, ...lines })
    followed.set(name, { offsets: { out: logs.out.offset, err: logs.err.offset }, partial: { out: '', err: '' } })
    writePrefixed(name, width, logs, followed.get(name) as Followed)
  }
  if (!follow) return
  const closed = client.closed()
  let open = true
  void closed.then(() => (open = false))
  process.once('SIGINT', () => process.exit(0))
  while (open) {
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS))])
    if (!open) break
    known = await names()
    width = Math.max(width, ...known.map((n) => n.length))
    for (const name of followed.keys()) if (!known.includes(name)) followed.delete(name)
    for (const name of known) {
      // A task added meanwhile is read from its first line.
      const state = followed.get(name) ?? { offsets: { out: 0, err: 0 }, partial: { out: '', err: '' } }
      followed.set(name, state)
      let logs: Logs
      do {
        logs = await client.call<Logs>('tasks.logs', { name, ...stamps, from: state.offsets })
        state.offsets = { out: logs.out.offset, err: logs.err.offset }
        writePrefixed(name, width, logs, state)
      } while (logs.out.more === true || logs.err.more === true)
    }
  }
}

/** Whole lines only, each as "name | line"; an unfinished last line waits for the rest. */
function writePrefixed(name: string, width: number, logs: Logs, state: Followed): void {
  for (const stream of ['out', 'err'] as const) {
    const text = state.partial[stream] + logs[stream].text
    const cut = text.lastIndexOf('\n') + 1
    state.partial[stream] = text.slice(cut)
    if (cut === 0) continue
    const prefixed = text.slice(0, cut - 1).split('\n').map((line) => `${name.padEnd(width)} | ${line}\n`).join('')
    ;(stream === 'out' ? process.stdout : process.stderr).write(visible(prefixed))
  }
}
