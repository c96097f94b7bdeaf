#!/usr/bin/env node
// The `supervisor` executable: `supervisor daemon` and `supervisor ctl VERB`.
import { createRequire } from 'node:module'
import type yargsFactory from 'yargs'
import type * as yargsHelpers from 'yargs/helpers'
import { ctlCommand } from './commands/ctl.js'
import { daemonCommand } from './commands/daemon.js'

// yargs 17 through its CommonJS build: one file, ~25 ms to load, where its ES module entry loads
// some thirty files (~50 ms) and yargs 18's ~130 ms (README, "ctl latency"). Every ctl command pays it.
const require = createRequire(import.meta.url)
const yargs = require('yargs') as typeof yargsFactory
const { hideBin } = require('yargs/helpers') as typeof yargsHelpers

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
