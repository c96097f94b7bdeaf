// The systemd unit `supervisor startup` installs: the daemon started at boot, restarted if it dies.
// Pure text, so that it can be checked (and `systemd-analyze verify`-ed) without systemd.

export interface UnitOptions {
  /** Absolute path of the Node executable. */
  node: string
  /** Absolute path of the supervisor CLI (dist/src/cli/main.js). */
  cli: string
  /** Absolute path of the supervisor home. */
  home: string
  /** Absolute path of the ecosystem file, if the daemon applies one. */
  config: string | null
}

/** Where the unit goes: the local administrator's units. */
export const UNIT_NAME = 'supervisor.service'
export const UNIT_DIR = '/etc/systemd/system'

/**
 * One word of a command line as systemd.syntax(7) reads it: `%` and `$` doubled (specifiers and
 * variables), and in double quotes with `\` and `"` escaped when it has spaces, quotes or backslashes.
 */
export function unitWord(word: string): string {
  const literal = word.replace(/%/g, '%%').replace(/\$/g, '$$$$')
  if (literal !== '' && !/[\s"'\\;]/.test(literal)) return literal
  return `"${literal.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`
}

export function unitText(options: UnitOptions): string {
  const command = (...words: string[]): string => [options.node, options.cli, ...words].map(unitWord).join(' ')
  const daemon = ['daemon', '--home', options.home, ...(options.config === null ? [] : ['--config', options.config])]
  return [
    '[Unit]',
    'Description=supervisor: process supervisor and deadline-aware task queue',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${command(...daemon)}`,
    // `systemctl reload`: the --config file read again (SIGHUP, as `ctl reload`).
    'ExecReload=/bin/kill -HUP $MAINPID',
    // `systemctl stop` sends SIGTERM to the daemon alone: it ends the runs gracefully itself. Should it
    // hang, systemd's SIGKILL reaches only the daemon too, and the launcher keeps the runs for the next.
    'KillMode=process',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=90s',
    // Also after `ctl shutdown --keep-running` (exit 0): the new daemon re-adopts the runs (upgrades).
    'Restart=always',
    'RestartSec=2s',
    'LimitNOFILE=65536',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n')
}
