// `ctl info [--json]`: the daemon itself: pids, version, home, counts, and whether it can write its log.
import type { Argv, CommandModule } from 'yargs'
import type { DaemonInfo } from '../../../api/daemon-info.js'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'
import { shortDate } from '../../table.js'

export function describeDaemon(info: DaemonInfo): string {
  const rows: [string, string][] = [
    ['pid', String(info.pid)],
    ['launcher pid', info.launcherPid === null ? '-' : String(info.launcherPid)],
    ['version', info.version],
    ['home', info.home],
    ['store', info.store],
    ['node', info.node],
    ['started', shortDate(info.startedAt)],
    ['tasks', `${info.tasks} (${info.ready} ready, ${info.running} running)`],
    ['containment', info.containment],
    ['unrecorded', String(info.unrecorded)],
    ['store', info.degraded === null ? 'ok' : `DEGRADED since ${shortDate(info.degraded.since)}: ${info.degraded.problem}`],
  ]
  return rows.map(([k, v]) => `${`${k}:`.padEnd(14)}${v}`).join('\n')
}

export const infoCommand: CommandModule<CtlArgs, CtlArgs> = {
  command: 'info',
  describe: 'show the daemon: pids, version, home, counts, degraded or not',
  builder: (y: Argv<CtlArgs>) => y.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: (argv) =>
    withClient(argv, async (client) => {
      const info = await client.call<DaemonInfo>('daemon.info')
      if (argv.json === true) printJson(info)
      else print(describeDaemon(info))
    }),
}
