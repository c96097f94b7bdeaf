// `supervisor migrate --from HOME --to postgres://...`: copy a LevelDB queue and its history into PostgreSQL.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs'
import { resolveHome } from '../../runtime/home.js'
import { fail, print } from '../run-command.js'

interface MigrateArgs {
  from?: string
  to: string
}

export const migrateCommand: CommandModule<object, MigrateArgs> = {
  command: 'migrate',
  describe: 'copy the queue and history of a home (its LevelDB; the daemon stopped) into an empty PostgreSQL database',
  builder: (y: Argv) =>
    y
      .option('from', { type: 'string', describe: 'the supervisor home to copy (default $SUPERVISOR_HOME or ~/.supervisor)' })
      .option('to', { type: 'string', demandOption: true, describe: 'postgres://USER@HOST:PORT/DB, an empty database' }) as Argv<MigrateArgs>,
  handler: async (argv: ArgumentsCamelCase<MigrateArgs>) => {
    try {
      const { migrate } = await import('../../store/migrate.js')
      const { redact } = await import('../../store/pg-store.js')
      const report = await migrate(resolveHome(argv.from).db, argv.to)
      print(`copied ${report.tasks} tasks, ${report.events} events (to seq ${report.lastSeq}), ${report.tokens} tokens and ${report.errorGroups} error groups into ${redact(argv.to)}`)
      print(`start the daemon with --store ${redact(argv.to)}`)
    } catch (error) {
      fail(error)
    }
  },
}
