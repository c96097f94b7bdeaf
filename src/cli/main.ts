#!/usr/bin/env node
// The `supervisor` executable: `supervisor daemon` and `supervisor ctl VERB`.
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { ctlCommand } from './commands/ctl.js'
import { daemonCommand } from './commands/daemon.js'

await yargs(hideBin(process.argv))
  .scriptName('supervisor')
  .parserConfiguration({ 'populate--': true })
  .command(daemonCommand)
  .command(ctlCommand)
  .demandCommand(1, 'name a command: daemon or ctl')
  .strict()
  .help()
  .fail((message, error) => {
    // Bad usage (unknown flag, missing argument): the contract's exit code 2.
    if (error !== undefined && error !== null) throw error
    process.stderr.write(`error: ${message}\nrun with --help for usage\n`)
    process.exit(2)
  })
  .parseAsync()
