// Checking at the boundary that a task's script exists and can be executed by the daemon.
import { access, stat } from 'node:fs/promises'
import { constants } from 'node:fs'

/** Null if `path` is an executable file, else what is wrong with it. */
export async function scriptProblem(path: string): Promise<string | null> {
  const info = await stat(path).catch(() => null)
  if (info === null) return `${path} does not exist`
  if (!info.isFile()) return `${path} is not a file`
  const executable = await access(path, constants.X_OK).then(() => true, () => false)
  return executable ? null : `${path} is not executable (chmod +x it)`
}
