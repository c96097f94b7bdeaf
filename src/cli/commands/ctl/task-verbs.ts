// `ctl run|start|stop|restart|remove|replay NAME`: one request each on a named task.
import type { Argv, CommandModule } from 'yargs'
import type { TaskView } from '../../../core/view.js'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'

interface NameArgs extends CtlArgs {
  name: string
}

function taskVerb(verb: string, method: string, describe: string, done: (name: string, result: unknown) => string, aliases: string[] = []): CommandModule<CtlArgs, NameArgs> {
  return {
    command: `${verb} <name>`,
    aliases,
    describe,
    builder: (y: Argv<CtlArgs>) =>
      y.positional('name', { type: 'string', demandOption: true }).option('json', { type: 'boolean', describe: 'print JSON' }),
    handler: (argv) =>
      withClient(argv, async (client) => {
        const result = await client.call(method, { name: argv.name })
        if (argv.json === true) printJson(result)
        else print(done(argv.name, result))
      }),
  }
}

const stateOf = (result: unknown): string => (result as TaskView).state

export const runCommand = taskVerb('run', 'tasks.run', 'make a task due now (alias: start)', (name, r) => `${name}: ${stateOf(r)}`, ['start'])
export const restartCommand = taskVerb('restart', 'tasks.restart', 'stop its running process and start it again at once (no failure, no retry spent)', (name, r) => `${name}: ${stateOf(r) === 'running' ? 'restarting' : stateOf(r)}`)
export const stopCommand = taskVerb('stop', 'tasks.stop', 'stop its running process (no retry)', (name) => `${name}: stopping`)
export const replayCommand = taskVerb('replay', 'tasks.replay', 'run a finished (or removed) task again with its recorded definition', (name, r) => `${name}: ${stateOf(r)}`)
export const removeCommand = taskVerb('remove', 'tasks.remove', 'stop and delete a task (its history stays)', (name) => `${name}: removed`)
