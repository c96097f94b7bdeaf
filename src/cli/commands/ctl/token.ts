// `ctl token create|list|revoke`: keys for the WebSocket API (only over the control socket).
import type { Argv, CommandModule } from 'yargs'
import { print, printJson, withClient, type CtlArgs } from '../../run-command.js'
import { shortDate, table } from '../../table.js'

interface TokenArgs extends CtlArgs {
  scope?: string
  name?: string
  id?: string
}

const create: CommandModule<CtlArgs, TokenArgs> = {
  command: 'create',
  describe: 'create a token (its secret is shown once)',
  builder: (y: Argv<CtlArgs>) =>
    y
      .option('scope', { type: 'string', demandOption: true, describe: 'read or admin' })
      .option('name', { type: 'string', describe: 'a label' })
      .option('json', { type: 'boolean', describe: 'print JSON' }) as unknown as Argv<TokenArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      const created = await client.call<{ id: string; token: string; scope: string; name: string }>('tokens.create', {
        scope: argv.scope, ...(argv.name === undefined ? {} : { name: argv.name }),
      })
      if (argv.json === true) return printJson(created)
      print(`token ${created.id} (${created.scope}${created.name === '' ? '' : `, ${created.name}`}):\n${created.token}\nkeep it now: it is stored only as a hash and cannot be shown again`)
    }),
}

const list: CommandModule<CtlArgs, TokenArgs> = {
  command: 'list',
  describe: 'list tokens (never their secrets)',
  builder: (y: Argv<CtlArgs>) => y.option('json', { type: 'boolean', describe: 'print JSON' }) as unknown as Argv<TokenArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      const tokens = await client.call<{ id: string; scope: string; name: string; created: string }[]>('tokens.list')
      if (argv.json === true) return printJson(tokens)
      print(tokens.length === 0 ? 'no tokens' : table(['ID', 'SCOPE', 'NAME', 'CREATED'], tokens.map((t) => [t.id, t.scope, t.name, shortDate(t.created)])))
    }),
}

const revoke: CommandModule<CtlArgs, TokenArgs> = {
  command: 'revoke <id>',
  describe: 'revoke a token at once',
  builder: (y: Argv<CtlArgs>) => y.positional('id', { type: 'string', demandOption: true }) as unknown as Argv<TokenArgs>,
  handler: (argv) =>
    withClient(argv, async (client) => {
      await client.call('tokens.revoke', { id: argv.id })
      print(`token ${argv.id} revoked`)
    }),
}

export const tokenCommand: CommandModule<CtlArgs, CtlArgs> = {
  command: 'token',
  describe: 'manage WebSocket API tokens',
  builder: (y: Argv<CtlArgs>) => y.command(create).command(list).command(revoke).demandCommand(1, 'name one: create, list, revoke'),
  handler: () => undefined,
}
