// Env files (`envFile`): dotenv text read at each start of a run, through dotenv's parser. A task that
// runs as another `user` may only name a file that user could read itself: the daemon reads as root,
// and a root-only file must not reach an unprivileged task's environment.
import { constants, type Stats } from 'node:fs'
import { open } from 'node:fs/promises'
import { parse } from 'dotenv'

/** Larger than any environment a process can be given: a file this big is a mistake. */
const MAX_BYTES = 1024 * 1024

/** Who will see the values: the account a task runs as (null: the daemon's own user). */
export interface Reader {
  name: string
  uid: number
  gid: number
}

/** The file's variables, or why this start fails (naming the file). */
export async function readEnvFile(path: string, reader: Reader | null): Promise<{ vars: Record<string, string> } | { error: string }> {
  const fail = (why: string): { error: string } => ({ error: `envFile ${path}: ${why}` })
  let handle
  try {
    // Non-blocking, so that a FIFO planted at the path cannot hang the start; it is refused below.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (error) {
    return fail(openProblem(error as NodeJS.ErrnoException))
  }
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) return fail('not a regular file')
    if (stat.size > MAX_BYTES) return fail(`larger than ${MAX_BYTES / 1024 / 1024} MiB`)
    if (reader !== null && !readableBy(stat, reader)) {
      return fail(`user "${reader.name}" could not read it (owner uid ${stat.uid}, mode ${(stat.mode & 0o777).toString(8)}), so its values are not given to the task`)
    }
    return { vars: parse(await handle.readFile({ encoding: 'utf8' })) }
  } catch (error) {
    return fail((error as Error).message)
  } finally {
    await handle.close()
  }
}

/** Whether `reader` could read the file by its owner, group and mode (its primary group only). */
export function readableBy(stat: Pick<Stats, 'uid' | 'gid' | 'mode'>, reader: Reader): boolean {
  if (reader.uid === 0) return true
  if (stat.uid === reader.uid) return (stat.mode & 0o400) !== 0
  if (stat.gid === reader.gid) return (stat.mode & 0o040) !== 0
  return (stat.mode & 0o004) !== 0
}

function openProblem(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'no such file'
    case 'EACCES':
      return 'permission denied'
    case 'EISDIR':
      return 'not a regular file'
    default:
      return error.message
  }
}
