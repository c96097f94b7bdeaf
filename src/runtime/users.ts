// Looking up the accounts tasks run as (through NSS, as login does), and the daemon's own standing.
import { execFile } from 'node:child_process'

export interface Account {
  name: string
  uid: number
  gid: number
  home: string
}

/** The passwd line of `name`, or null if there is none. */
export type PasswdQuery = (name: string) => Promise<string | null>

/** `getent passwd NAME`, run without blocking the daemon (a synchronous one froze it for 22 s over 5,000 tasks). */
export const getentPasswd: PasswdQuery = (name) =>
  new Promise((resolve) => {
    execFile('getent', ['passwd', name], { encoding: 'utf8', timeout: 10_000 }, (error, stdout) => resolve(error === null ? stdout : null))
  })

export function parsePasswd(text: string): Account | null {
  const [user, , uid, gid, , home] = text.trim().split('\n')[0]?.split(':') ?? []
  if (user === undefined || uid === undefined || gid === undefined) return null
  return { name: user, uid: Number(uid), gid: Number(gid), home: home ?? '/' }
}

/** How long a lookup's answer is reused: accounts rarely change; a missing one may be created any moment. */
export const FOUND_TTL_MS = 60_000
export const MISSING_TTL_MS = 1_000

/** getent processes at most at once: an apply naming 5,000 users must not fork 5,000 of them together. */
export const MAX_QUERIES = 8

/**
 * Accounts by name, each looked up once however many tasks name it: lookups in flight are shared,
 * found accounts kept for FOUND_TTL_MS, misses for only MISSING_TTL_MS so that a user created after
 * a refused apply is found on the next try.
 */
export class UserDirectory {
  private readonly known = new Map<string, { account: Promise<Account | null>; until: number }>()
  private running = 0
  private readonly queued: (() => void)[] = []

  constructor(
    private readonly query: PasswdQuery = getentPasswd,
    private readonly now: () => number = Date.now,
  ) {}

  lookup(name: string): Promise<Account | null> {
    const now = this.now()
    const cached = this.known.get(name)
    if (cached !== undefined && cached.until > now) return cached.account
    if (this.known.size >= 10_000) this.forgetExpired(now)
    const entry = { account: Promise.resolve<Account | null>(null), until: Infinity }
    entry.account = this.limited(name).then((text) => {
      const account = text === null ? null : parsePasswd(text)
      entry.until = this.now() + (account === null ? MISSING_TTL_MS : FOUND_TTL_MS)
      return account
    })
    this.known.set(name, entry)
    return entry.account
  }

  /** The query, once fewer than MAX_QUERIES run; a failed one counts as a miss. */
  private async limited(name: string): Promise<string | null> {
    // A query that ends hands its slot straight to the next one waiting, so no more than MAX_QUERIES run.
    if (this.running < MAX_QUERIES) this.running += 1
    else await new Promise<void>((resolve) => this.queued.push(resolve))
    try {
      return await this.query(name).catch(() => null)
    } finally {
      const next = this.queued.shift()
      if (next === undefined) this.running -= 1
      else next()
    }
  }

  private forgetExpired(now: number): void {
    for (const [name, entry] of this.known) if (entry.until <= now) this.known.delete(name)
  }
}

/** The daemon's directory, shared by task intake and the spawner. */
export const users = new UserDirectory()

export function lookupUser(name: string, directory: UserDirectory = users): Promise<Account | null> {
  return directory.lookup(name)
}

export function runningAsRoot(): boolean {
  return process.getuid?.() === 0
}

/** Null if tasks may run as `name` here, else why not. */
export async function userProblem(name: string, directory: UserDirectory = users): Promise<string | null> {
  if (!runningAsRoot()) return `the daemon is not running as root, so it cannot run tasks as "${name}"`
  return (await directory.lookup(name)) === null ? `no such user "${name}"` : null
}
