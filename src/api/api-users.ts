// Who tasks given with a token may run as: on a root daemon a token must not be a way to run code as root.
import type { Account } from '../runtime/users.js'
import { runningAsRoot } from '../runtime/users.js'
import type { Scope } from './context.js'

/** The users a token's tasks may run as: a list (setting `apiUsers`), or null for anyone but root. */
export interface ApiUserRule {
  allowed: readonly string[] | null
}

/**
 * The rule for a caller, or null when it may run tasks as anyone the daemon can: the control socket
 * (its user owns the daemon) and a daemon not running as root (it can run tasks only as itself).
 */
export function apiUserRule(scope: Scope, apiUsers: readonly string[] | null, asRoot = runningAsRoot()): ApiUserRule | null {
  return scope === 'owner' || !asRoot ? null : { allowed: apiUsers }
}

/**
 * Null if the rule lets task `task` run as `user` (null: as the daemon, root), else "expected X, got Y".
 * Any account with uid 0 counts as root; `account` is `user`'s, null if there is none.
 */
export function apiUserProblem(rule: ApiUserRule, task: string, user: string | null, account: Account | null): string | null {
  const name = user ?? 'root'
  const isRoot = name === 'root' || account?.uid === 0
  const { allowed } = rule
  const ok = allowed === null ? !isRoot : allowed.includes(name) && (!isRoot || allowed.includes('root'))
  if (ok) return null
  const expected = allowed === null
    ? 'a user other than root for a task given with a token'
    : `a user the setting apiUsers allows for a task given with a token (${allowed.join(', ')})`
  const got = user === null
    ? `none (task "${task}" would run as root)`
    : `"${name}" (task "${task}"${isRoot && name !== 'root' ? ', uid 0' : ''})`
  return `expected ${expected}, got ${got}`
}
