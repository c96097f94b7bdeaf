#!/usr/bin/env node
// The `supervisor` executable: `supervisor daemon` and `supervisor ctl VERB`.
import { createRequire } from 'node:module'
import type yargsFactory from 'yargs'
import type * as yargsHelpers from 'yargs/helpers'
import { ctlCommand } from './commands/ctl.js'
import { daemonCommand } from './commands/daemon.js'
import { migrateCommand } from './commands/migrate.js'
import { startupCommand, unstartupCommand } from './commands/startup.js'

// yargs 17 through its CommonJS build: one file, ~25 ms to load, where its ES module entry loads
// some thirty files (~50 ms) and yargs 18's ~130 ms (README, "ctl latency"). Every ctl command pays it.
const require = createRequire(import.meta.url)
const yargs = require('yargs') as typeof yargsFactory
const { hideBin } = require('yargs/helpers') as typeof yargsHelpers

/**
 * A flag given twice would reach its command as a list of values ("--port 0 --port 80"): bad usage,
 * named, unless the flag takes a list (`--env`). yargs adds a camelCase twin of each kebab-case flag;
 * only the flag as typed is named.
 */
function repeatedFlag(argv: Record<string, unknown>, lists: readonly string[]): string | null {
  for (const [key, value] of Object.entries(argv)) {
    if (!Array.isArray(value) || key === '_' || key === '--' || lists.includes(key) || /[A-Z]/.test(key)) continue
    return `--${key}: given ${value.length} times (${value.join(', ')}); give it once`
  }
  return null
}

// A reader that stops early (`ctl list | head -1`) closes the pipe: end quietly, as other CLIs do, with
// the status a shell gives a process ended by SIGPIPE (128 + 13), instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(141)
    throw error
  })
}

await yargs(hideBin(process.argv))
  .scriptName('supervisor')
  .parserConfiguration({ 'populate--': true })
  .command(daemonCommand)
  .command(ctlCommand)
  .command(startupCommand)
  .command(unstartupCommand)
  .command(migrateCommand)
  .demandCommand(1, 'name a command: daemon, ctl, startup, unstartup or migrate')
  .strict()
  // yargs 17 hands a check the parser's options (its typings say aliases): `array` lists the list flags.
  .check((argv, options) => repeatedFlag(argv, (options as { array?: string[] }).array ?? []) ?? true, true)
  .help()
  .fail((message, error) => {
    // Bad usage (unknown flag, missing argument, a failed check): the contract's exit code 2. A check
    // that fails hands its message as the error too; anything else thrown is not about usage.
    if (error instanceof Error) throw error
    process.stderr.write(`error: ${message}\nrun with --help for usage\n`)
    process.exit(2)
  })
  .parseAsync()
