// `supervisor daemon`: run in the foreground until SIGINT/SIGTERM or `ctl shutdown`.
import { resolve } from 'node:path'
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs'
import { resolveHome } from '../../runtime/home.js'
import { numeric } from '../numeric.js'
import { fail } from '../run-command.js'
import { reloadSummary } from './ctl/reload.js'

interface DaemonArgs {
  home?: string
  config?: string
  host?: string
  port?: string
  tick?: string
  maxConcurrent?: string
  maxCpu?: string
  minFreeMemory?: string
  killTimeout?: string
  apiUsers?: string
  maxConnections?: string
  store?: string
  node?: string
  nodeTimeout?: string
}

export const daemonCommand: CommandModule<object, DaemonArgs> = {
  command: 'daemon',
  describe: 'run the supervisor daemon in the foreground',
  builder: (y: Argv) =>
    y
      .option('home', { type: 'string', describe: 'supervisor home (default $SUPERVISOR_HOME or ~/.supervisor)' })
      .option('config', { type: 'string', describe: 'ecosystem file to apply at start, and again on `ctl reload` or SIGHUP' })
      .option('host', { type: 'string', describe: 'WebSocket/HTTP host (default 127.0.0.1)' })
      .option('port', { type: 'string', describe: 'WebSocket/HTTP port, 0 for a free one (default 7070)' })
      .option('tick', { type: 'string', describe: 'scheduling interval in ms (default 25)' })
      .option('max-concurrent', { type: 'string', describe: 'running tasks at most (default 3)' })
      .option('max-cpu', { type: 'string', describe: 'start nothing at or above this CPU % (default 85)' })
      .option('min-free-memory', { type: 'string', describe: 'free memory to keep: 512M, 2G, 10% (default 10%)' })
      .option('kill-timeout', { type: 'string', describe: 'SIGTERM to SIGKILL grace (default 5s)' })
      .option('api-users', { type: 'string', describe: 'users tasks given with a token may run as, comma-separated (default: any but root)' })
      .option('store', { type: 'string', describe: 'postgres://USER@HOST:PORT/DB to keep the queue in PostgreSQL (default $SUPERVISOR_STORE, else LevelDB in the home)' })
      .option('node', { type: 'string', describe: 'this daemon\'s node name in a cluster (default: the host name)' })
      .option('node-timeout', { type: 'string', describe: 'a node silent this long is lost and its runs move (default 30s)' })
      .option('max-connections', { type: 'string', describe: 'open HTTP/WebSocket connections at most (default: from the open-files limit)' }) as Argv<DaemonArgs>,
  handler: async (argv: ArgumentsCamelCase<DaemonArgs>) => {
    try {
      // The daemon's modules load only for this command, so that ctl starts fast.
      const [{ loadEcosystem }, { flagName, parseSettings }, { startDaemon }] = await Promise.all([
        import('../../config/ecosystem.js'), import('../../config/daemon-settings.js'), import('../../runtime/daemon.js'),
      ])
      const flags = parseSettings(
        {
          host: argv.host, port: numeric(argv.port), tick: numeric(argv.tick), maxConcurrent: numeric(argv.maxConcurrent),
          maxCpu: numeric(argv.maxCpu), minFreeMemory: numeric(argv.minFreeMemory), killTimeout: numeric(argv.killTimeout),
          apiUsers: argv.apiUsers?.split(',').map((user) => user.trim()), maxConnections: numeric(argv.maxConnections),
          store: argv.store ?? process.env['SUPERVISOR_STORE'], node: argv.node, nodeTimeout: numeric(argv.nodeTimeout),
        },
        flagName,
      )
      const ecosystem = argv.config === undefined ? undefined : await loadEcosystem(argv.config)
      const home = resolveHome(argv.home)
      const config = ecosystem === undefined || argv.config === undefined ? {} : { ecosystem, configFile: resolve(argv.config) }
      const daemon = await startDaemon({ home, flags, ...config })
      // The handlers before the line that says it listens: a signal sent as soon as it is read must
      // stop the daemon gracefully, not find the default action (exit at once) still in place.
      const onSignal = (): void => void daemon.stop()
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      // SIGHUP reads the --config file again, as `ctl reload` does; what it did goes to the daemon's output.
      process.on('SIGHUP', () => {
        daemon.reload().then(
          (result) => process.stdout.write(`${reloadSummary(result)}\n`),
          (error: unknown) => process.stderr.write(`reload failed, nothing changed: ${(error as Error).message}\n`),
        )
      })
      process.stdout.write(`supervisor listening on ${daemon.host}:${daemon.port} (home ${home.root}, pid ${process.pid})\n`)
      await daemon.stopped
      process.stdout.write('supervisor stopped\n')
      process.exit(0)
    } catch (error) {
      fail(error)
    }
  },
}
