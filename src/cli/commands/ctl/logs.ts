// `ctl logs NAME [--lines N] [--follow]`: the task's captured stdout and stderr.
import type { Argv, CommandModule } from 'yargs'
import { numeric } from '../../numeric.js'
import type { LogChunk } from '../../../runtime/log-reader.js'
import { withClient, type CtlArgs } from '../../run-command.js'
import { visible } from '../../visible.js'

interface LogsArgs extends CtlArgs {
  name: string
  lines?: string
  follow?: boolean
}

type Logs = { out: LogChunk; err: LogChunk }

const FOLLOW_EVERY_MS = 300

/** Escapes shown, not obeyed: a task's output must not drive the terminal of whoever reads it. */
function write(logs: Logs): void {
  process.stdout.write(visible(logs.out.text))
  process.stderr.write(visible(logs.err.text))
}

export const logsCommand: CommandModule<CtlArgs, LogsArgs> = {
  command: 'logs <name>',
  describe: "the task's captured stdout (to stdout) and stderr (to stderr)",
  builder: (y: Argv<CtlArgs>) =>
    y
      .positional('name', { type: 'string', demandOption: true })
      .option('lines', { type: 'string', describe: 'how many of the last lines of each (default 100)' })
      .option('follow', { type: 'boolean', alias: 'f', describe: 'keep printing what is appended, until interrupted' }) as unknown as Argv<LogsArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      const params = { name: argv.name, ...(argv.lines === undefined ? {} : { lines: numeric(argv.lines) }) }
      let logs = await client.call<Logs>('tasks.logs', params)
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
        logs = await client.call<Logs>('tasks.logs', { name: argv.name, from: { out: logs.out.offset, err: logs.err.offset } })
        write(logs)
      }
    }),
}
