// `ctl nodes [--json]`: the nodes sharing the queue, alive or lost, with what each runs.
import type { Argv, CommandModule } from 'yargs'
import { formatSize } from '../../../core/admission.js'
import type { NodeView } from '../../../runtime/cluster.js'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'
import { shortDate, table } from '../../table.js'

export function nodeTable(nodes: readonly NodeView[]): string {
  if (nodes.length === 0) return 'no nodes'
  return table(
    ['NAME', 'STATE', 'LAST SEEN', 'RUNNING', 'CPU', 'FREE MEMORY', 'VERSION'],
    nodes.map((n) => [
      n.self ? `${n.name} (this)` : n.name, n.state, `${shortDate(n.lastSeen)} (${Math.round(n.silentMs / 1000)}s ago)`, String(n.running),
      n.cpuPercent === null ? '-' : `${Math.round(n.cpuPercent)}%`, n.freeMemory === null ? '-' : formatSize(n.freeMemory), n.version ?? '-',
    ]),
  )
}

export const nodesCommand: CommandModule<CtlArgs, CtlArgs> = {
  command: 'nodes',
  describe: 'list the nodes sharing the queue (a cluster): alive or lost, last heartbeat, runs, CPU, memory, version',
  builder: (y: Argv<CtlArgs>) => y.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: (argv) =>
    withClient(argv, async (client) => {
      const nodes = await client.call<NodeView[]>('nodes.list')
      if (argv.json === true) printJson(nodes)
      else print(nodeTable(nodes))
    }),
}
