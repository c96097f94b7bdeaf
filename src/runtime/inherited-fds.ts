// Descriptors a process inherited by accident: open files without close-on-exec that a child would get.
import { closeSync, readdirSync, readFileSync } from 'node:fs'

const O_CLOEXEC = 0o2000000

/** The close-on-exec flag of an open descriptor, from /proc (Linux); null if it cannot be read. */
function closeOnExec(fd: number): boolean | null {
  try {
    const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1]
    return flags === undefined ? null : (parseInt(flags, 8) & O_CLOEXEC) !== 0
  } catch {
    return null
  }
}

/**
 * Close every descriptor above stdio that would survive an exec. Node and libuv open all of theirs
 * close-on-exec (the IPC channel included), so what is left was inherited from the parent: LevelDB's
 * files (a native library that opens them without the flag), or whatever the daemon's own parent
 * leaked to it. A task must never get them: a `user` task holding the write-ahead log could forge
 * changes to the queue that root would then carry out. Returns the descriptors closed.
 */
export function closeInheritedDescriptors(): number[] {
  let fds: number[]
  try {
    fds = readdirSync('/proc/self/fd').map(Number).filter((fd) => fd > 2)
  } catch {
    return []
  }
  const closed: number[] = []
  for (const fd of fds) {
    if (closeOnExec(fd) !== false) continue
    try {
      closeSync(fd)
      closed.push(fd)
    } catch {
      // Gone already (the directory listing's own descriptor, closed once read).
    }
  }
  return closed
}
