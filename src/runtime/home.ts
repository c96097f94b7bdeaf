// The supervisor home: where the database, the control socket and the logs live.
import { chmod, mkdir } from 'node:fs/promises'
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

/** Create the home private to this user (0700), tightening it if it already exists. */
export async function prepareHome(home: HomePaths): Promise<void> {
  await mkdir(home.root, { recursive: true, mode: 0o700 })
  await chmod(home.root, 0o700)
  await mkdir(home.logs, { recursive: true, mode: 0o700 })
}
