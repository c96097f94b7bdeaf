// Running a task as another user: setpriv (util-linux) drops to the account and its groups, then env
// (coreutils) gives the run exactly its environment. Both by absolute path, never found through PATH.
import { existsSync } from 'node:fs'
import type { Account } from './users.js'

/** systemd's PATH for services. */
export const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const SETPRIV_PATHS = ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv', '/sbin/setpriv']
const ENV_PATHS = ['/usr/bin/env', '/bin/env']
const SH = '/bin/sh'

const found = new Map<string, string | null>()
function firstOf(paths: readonly string[]): string | null {
  const key = paths.join(':')
  if (!found.has(key)) found.set(key, paths.find((path) => existsSync(path)) ?? null)
  return found.get(key) ?? null
}

/** What the launcher spawns: a program, its arguments, the environment it starts with, where it runs. */
export interface RunCommand {
  file: string
  args: string[]
  env: Record<string, string>
  cwd: string | null
}

/**
 * What systemd gives a service run as a user: a fixed PATH, the account's HOME, USER and LOGNAME, the
 * daemon's LANG. The task's own `env` goes over it.
 */
export function accountEnv(account: Account, lang: string | undefined): Record<string, string> {
  return { PATH: SERVICE_PATH, HOME: account.home, USER: account.name, LOGNAME: account.name, ...(lang === undefined ? {} : { LANG: lang }) }
}

/**
 * `setpriv --reuid U --regid G --init-groups -- env -i -- K=V... SCRIPT ARGS...`, started with a PATH
 * alone. setpriv runs as root, so it must not get the task's environment: an `LD_PRELOAD` there would
 * load the task's code into a root process. The run's environment is set by env, after the drop.
 * Working folder: the task's, else the account's home, else `/`.
 */
export function runAsCommand(account: Account, script: string, args: readonly string[], env: Record<string, string>, cwd: string | null): RunCommand | { error: string } {
  const setpriv = firstOf(SETPRIV_PATHS)
  if (setpriv === null) return { error: `setpriv not found in ${SETPRIV_PATHS.join(', ')}: cannot run as "${account.name}"` }
  const envProgram = firstOf(ENV_PATHS)
  if (envProgram === null) return { error: `env not found in ${ENV_PATHS.join(', ')}: cannot run as "${account.name}"` }
  const assignments = Object.entries(env).map(([key, value]) => `${key}=${value}`)
  // env reads an operand holding '=' as one more assignment: such a script path goes through sh.
  const program = script.includes('=') ? [SH, '-c', 'exec "$0" "$@"', script] : [script]
  return {
    file: setpriv,
    args: ['--reuid', String(account.uid), '--regid', String(account.gid), '--init-groups', '--', envProgram, '-i', '--', ...assignments, ...program, ...args],
    env: { PATH: SERVICE_PATH },
    cwd: cwd ?? (existsSync(account.home) ? account.home : '/'),
  }
}
