// `supervisor startup` and `supervisor unstartup`: install (or remove) the systemd unit that starts the
// daemon at boot, as `pm2 startup` does; `--print` shows the unit and changes nothing.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { rm, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs'
import { UNIT_DIR, UNIT_NAME, unitText } from '../../config/systemd-unit.js'
import { DomainError } from '../../core/errors.js'
import { resolveHome } from '../../runtime/home.js'
import { fail, print } from '../run-command.js'

interface StartupArgs {
  home?: string
  config?: string
  print?: boolean
}

/** The CLI the unit runs: this very file's executable, wherever this release is installed. */
const CLI = fileURLToPath(new URL('../main.js', import.meta.url))

/** Whether systemd runs this machine (as sd_booted(3) tells): not in most containers. */
const systemdRuns = (): boolean => existsSync('/run/systemd/system')

/** Units go where tests say (never /etc in a test), else /etc/systemd/system. */
const unitDir = (): string => process.env['SUPERVISOR_UNIT_DIR'] ?? UNIT_DIR

function systemctl(...args: string[]): void {
  execFileSync('systemctl', args, { stdio: 'inherit' })
}

async function startup(argv: ArgumentsCamelCase<StartupArgs>): Promise<void> {
  let config: string | null = null
  if (argv.config !== undefined) {
    config = resolve(argv.config)
    const found = await stat(config).catch(() => null)
    if (found === null || !found.isFile()) throw new DomainError('invalid', `--config: no file ${config}`)
  }
  const unit = unitText({ node: process.execPath, cli: CLI, home: resolveHome(argv.home).root, config })
  if (argv.print === true) return void process.stdout.write(unit)
  if (!systemdRuns()) {
    process.stdout.write(unit)
    throw new DomainError('invalid', 'systemd is not running this machine (no /run/systemd/system, as in most containers): the unit above was not installed; start `supervisor daemon` with the init system there is')
  }
  if (process.getuid?.() !== 0) throw new DomainError('forbidden', `writing ${join(unitDir(), UNIT_NAME)} needs root: run it with sudo`)
  const path = join(unitDir(), UNIT_NAME)
  await writeFile(path, unit, { mode: 0o644 })
  systemctl('daemon-reload')
  systemctl('enable', '--now', UNIT_NAME)
  print(`installed ${path} and started it; \`systemctl status supervisor\` shows it`)
}

async function unstartup(): Promise<void> {
  const path = join(unitDir(), UNIT_NAME)
  if (!existsSync(path)) throw new DomainError('not_found', `no unit ${path}: nothing to remove`)
  if (!systemdRuns()) throw new DomainError('invalid', `systemd is not running this machine: remove ${path} by hand`)
  if (process.getuid?.() !== 0) throw new DomainError('forbidden', `removing ${path} needs root: run it with sudo`)
  systemctl('disable', '--now', UNIT_NAME)
  await rm(path)
  systemctl('daemon-reload')
  print(`stopped, disabled and removed ${path}`)
}

export const startupCommand: CommandModule<object, StartupArgs> = {
  command: 'startup',
  describe: 'install and start the systemd unit that runs the daemon at boot (--print: show it, change nothing)',
  builder: (y: Argv) =>
    y
      .option('home', { type: 'string', describe: 'supervisor home (default $SUPERVISOR_HOME or ~/.supervisor)' })
      .option('config', { type: 'string', describe: 'ecosystem file the daemon applies at start and on reload' })
      .option('print', { type: 'boolean', describe: 'write the unit to stdout and change nothing' }) as Argv<StartupArgs>,
  handler: (argv) => startup(argv).catch(fail),
}

export const unstartupCommand: CommandModule<object, object> = {
  command: 'unstartup',
  describe: 'stop, disable and remove the systemd unit `startup` installed',
  handler: () => unstartup().catch(fail),
}
