// Checking at the boundary that a task's script exists and can be executed by the daemon, and that
// its working folder is one.
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

/** Null if `path` is a folder, else what is wrong with it (said after "cwd: "). */
export async function folderProblem(path: string): Promise<string | null> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => error)
  if (info instanceof Error) {
    return info.code === 'ENOENT' || info.code === 'ENOTDIR' ? `no such folder ${JSON.stringify(path)}` : `cannot use ${JSON.stringify(path)} (${info.code ?? info.message})`
  }
  return info.isDirectory() ? null : `${JSON.stringify(path)} is not a folder`
}
