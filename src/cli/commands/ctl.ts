// `supervisor ctl VERB`: talk to the daemon over its control socket.
import type { Argv, CommandModule } from 'yargs'
import type { CtlArgs } from '../run-command.js'
import { addCommand } from './ctl/add.js'
import { applyCommand } from './ctl/apply.js'
import { historyCommand } from './ctl/history.js'
import { infoCommand } from './ctl/info.js'
import { nodesCommand } from './ctl/nodes.js'
import { listCommand } from './ctl/list.js'
import { logsCommand } from './ctl/logs.js'
import { reloadCommand } from './ctl/reload.js'
import { shutdownCommand } from './ctl/shutdown.js'
import { statusCommand } from './ctl/status.js'
import { removeCommand, replayCommand, restartCommand, runCommand, stopCommand } from './ctl/task-verbs.js'
import { errorsCommand } from './ctl/errors.js'
import { forecastCommand } from './ctl/forecast.js'
import { tokenCommand } from './ctl/token.js'
import { watchCommand } from './ctl/watch.js'

export const ctlCommand: CommandModule<object, CtlArgs> = {
  command: 'ctl',
  describe: 'control a running daemon',
  builder: (y: Argv) =>
    y
      .option('home', { type: 'string', global: true, describe: 'supervisor home (default $SUPERVISOR_HOME or ~/.supervisor)' })
      .option('url', { type: 'string', global: true, describe: 'a daemon\'s WebSocket API instead: ws://HOST:PORT/ws' })
      .option('token', { type: 'string', global: true, describe: 'token for --url (default $SUPERVISOR_TOKEN)' })
      .command(addCommand)
      .command(applyCommand)
      .command(listCommand)
      .command(statusCommand)
      .command(runCommand)
      .command(stopCommand)
      .command(restartCommand)
      .command(removeCommand)
      .command(historyCommand)
      .command(logsCommand)
      .command(replayCommand)
      .command(errorsCommand)
      .command(forecastCommand)
      .command(watchCommand)
      .command(tokenCommand)
      .command(infoCommand)
      .command(nodesCommand)
      .command(reloadCommand)
      .command(shutdownCommand)
      .demandCommand(1, 'name a verb: add, apply, list, status, run (start), stop, restart, remove, history, logs, replay, errors, forecast, watch, token, info, nodes, shutdown') as Argv<CtlArgs>,
  handler: () => undefined,
}
