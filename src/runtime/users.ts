// Looking up the accounts tasks run as (through NSS, as login does), and the daemon's own standing.
import { execFileSync } from 'node:child_process'

export interface Account {
  name: string
  uid: number
  gid: number
  home: string
}

export function lookupUser(name: string): Account | null {
  let line: string
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
  const [user, , uid, gid, , home] = line.split('\n')[0]?.split(':') ?? []
  if (user === undefined || uid === undefined || gid === undefined) return null
  return { name: user, uid: Number(uid), gid: Number(gid), home: home ?? '/' }
}

export function runningAsRoot(): boolean {
  return process.getuid?.() === 0
}

/** Null if tasks may run as `name` here, else why not. */
export function userProblem(name: string): string | null {
  if (!runningAsRoot()) return `the daemon is not running as root, so it cannot run tasks as "${name}"`
  return lookupUser(name) === null ? `no such user "${name}"` : null
}
