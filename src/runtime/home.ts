// The supervisor home: where the database, the control socket and the logs live.
import { chmod, lstat, mkdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export interface HomePaths {
  root: string
  db: string
  socket: string
  logs: string
}

/** `--home`, else $SUPERVISOR_HOME, else ~/.supervisor. */
export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): HomePaths {
  const root = resolve(flag ?? env['SUPERVISOR_HOME'] ?? join(homedir(), '.supervisor'))
  return { root, db: join(root, 'db'), socket: join(root, 'supervisor.sock'), logs: join(root, 'logs') }
}

/**
 * Create the home, `logs/` and `db/` private to this user (0700) where missing; refuse (throw) one that
 * exists but another user could subvert. A daemon (often root) writes task output into `logs/` and
 * truncates and renames files there: in a folder others can write, or own, they could plant symlinks
 * or swap files and have it write wherever they point. An existing folder is never loosened or
 * silently fixed: its owner decides, and the message says how.
 */
export async function prepareHome(home: HomePaths, uid: number | undefined = process.getuid?.()): Promise<void> {
  for (const path of [home.root, home.logs, home.db]) {
    if (await checkFolder(path, uid)) continue
    // The root may need its parents too (`--home /srv/x/supervisor`); they get 0700 like it.
    await mkdir(path, { recursive: path === home.root, mode: 0o700 })
    // mkdir's mode passes through the umask; what this daemon just created it may tighten exactly.
    await chmod(path, 0o700)
  }
}

/** True when `path` exists and is safe to use; false when it does not exist; throws why not otherwise. */
async function checkFolder(path: string, uid: number | undefined): Promise<boolean> {
  const stats = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null
    throw error
  })
  if (stats === null) return false
  if (stats.isSymbolicLink()) {
    throw new Error(`home: ${path} is a symbolic link: whoever can change it decides where the daemon writes; fix: use the folder it points to as the home, or replace the link with a folder`)
  }
  if (!stats.isDirectory()) throw new Error(`home: ${path}: expected a folder, got a file`)
  if (uid !== undefined && stats.uid !== uid) {
    throw new Error(`home: ${path} is owned by uid ${stats.uid}, not by this daemon's user (uid ${uid}): its owner could plant files there; fix: chown ${uid} ${path} (and check what is in it)`)
  }
  if ((stats.mode & 0o022) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0')
    const who = (stats.mode & 0o002) !== 0 ? 'others' : 'its group'
    throw new Error(`home: ${path} is writable by ${who} (mode ${mode}): they could plant symlinks or swap files there; fix: chmod 700 ${path} (and check what is in it)`)
  }
  return true
}
