// Control groups: each run in a cgroup of its own, so that stop, timeout and exit reach every process it
// started (also those that left its process group with setsid), and its memory limit is the kernel's.
// The daemon finds the folders once (`detectCgroups`); the launcher puts each run in its own.
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Where this home's runs get their cgroups; passed from the daemon to the launcher as JSON. */
export interface CgroupBases {
  /** A cgroup v2 folder: membership and `cgroup.kill` (Linux 5.14+). */
  unified: string
  /** Where memory limits are set: `unified` when v2 has the memory controller, v1's memory folder, or null. */
  memory: string | null
  memoryVersion: 1 | 2 | null
}

interface Mount {
  point: string
  /** The folder of the hierarchy this mount shows (not `/` inside a cgroup namespace). */
  root: string
  fstype: string
  superOptions: string[]
}

function mounts(): Mount[] {
  const found: Mount[] = []
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ')
    const fields = left?.split(' ') ?? []
    const [fstype, , superOptions] = right?.split(' ') ?? []
    const [root, point] = [fields[3], fields[4]]
    if (root === undefined || point === undefined || fstype === undefined) continue
    found.push({ point: point.replace(/\\040/g, ' '), root, fstype, superOptions: (superOptions ?? '').split(',') })
  }
  return found
}

/** This process's cgroup in the v2 hierarchy (`0::PATH`) or in the v1 hierarchy of `controller`. */
function ownPath(controller: string | null): string | null {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [id, controllers, ...path] = line.split(':')
    if (id === undefined || controllers === undefined) continue
    const match = controller === null ? id === '0' && controllers === '' : controllers.split(',').includes(controller)
    if (match) return path.join(':')
  }
  return null
}

/** The folder of this process's own cgroup in a hierarchy mounted at `mount`. */
function ownFolder(mount: Mount, path: string): string {
  const inside = path.startsWith(mount.root) ? path.slice(mount.root.length) : path
  return join(mount.point, inside)
}

/** This process's own cgroup folders: where the launcher returns after placing a run. */
export function ownCgroups(bases: CgroupBases): { unified: string; memory: string | null } | null {
  try {
    const all = mounts()
    const v2 = all.find((m) => m.fstype === 'cgroup2')
    const path = ownPath(null)
    if (v2 === undefined || path === null) return null
    let memory: string | null = null
    if (bases.memoryVersion === 1) {
      const v1 = all.find((m) => m.fstype === 'cgroup' && m.superOptions.includes('memory'))
      const own = ownPath('memory')
      if (v1 !== undefined && own !== null) memory = ownFolder(v1, own)
    }
    return { unified: ownFolder(v2, path), memory }
  } catch {
    return null
  }
}

/**
 * The folders for this home's runs, created under the daemon's own cgroups, or null where the kernel
 * offers no writable cgroup v2 hierarchy with `cgroup.kill` (then runs are contained by process groups
 * alone). Memory limits use v2's controller where it is enabled for us, else v1's memory hierarchy.
 */
export function detectCgroups(home: string): CgroupBases | null {
  try {
    const all = mounts()
    const v2 = all.find((m) => m.fstype === 'cgroup2')
    const path = ownPath(null)
    if (v2 === undefined || path === null) return null
    const name = `supervisor-${createHash('sha256').update(home).digest('hex').slice(0, 12)}`
    const unified = join(ownFolder(v2, path), name)
    mkdirSync(unified, { recursive: true })
    // cgroup.kill exists in every non-root cgroup from Linux 5.14 on: ending a run must reach everything.
    readFileSync(join(unified, 'cgroup.type'))
    if (!readdirSync(unified).includes('cgroup.kill')) return null
    if (enableV2Memory(unified)) return { unified, memory: unified, memoryVersion: 2 }
    const v1 = all.find((m) => m.fstype === 'cgroup' && m.superOptions.includes('memory'))
    const own = ownPath('memory')
    if (v1 === undefined || own === null) return { unified, memory: null, memoryVersion: null }
    const memory = join(ownFolder(v1, own), name)
    try {
      mkdirSync(memory, { recursive: true })
      return { unified, memory, memoryVersion: 1 }
    } catch {
      return { unified, memory: null, memoryVersion: null }
    }
  } catch {
    return null
  }
}

function enableV2Memory(unified: string): boolean {
  try {
    if (!readFileSync(join(unified, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')) return false
    writeFileSync(join(unified, 'cgroup.subtree_control'), '+memory')
    return true
  } catch {
    return false
  }
}

/** What containment a daemon has, in words (for `ctl info`). */
export function describeContainment(bases: CgroupBases | null): string {
  if (bases === null) return 'process groups (no writable cgroup v2 with cgroup.kill here)'
  const memory = bases.memoryVersion === null ? 'memory limits by polling' : `memory limits by the kernel (cgroup v${bases.memoryVersion})`
  return `a cgroup per run (${bases.unified}); ${memory}`
}

/** A run's cgroup: its folder in the v2 hierarchy and, where memory is limited in v1, there too. */
export interface RunCgroup {
  unified: string
  memory: string | null
}

/**
 * A run's cgroup folders. `limited`: the run has a memory limit. Where limits live in v1's memory
 * hierarchy, only such a run gets a folder there: creating one costs ~0.35 ms of the launcher's time
 * a run under load, a tenth of a one-shot's whole start, for a peak the monitor's polling also gives.
 * Cleaning up (`limited` left true) looks in both.
 */
export function runCgroup(bases: CgroupBases, name: string, limited = true): RunCgroup {
  const memory = !limited || bases.memory === null || bases.memory === bases.unified ? null : join(bases.memory, name)
  return { unified: join(bases.unified, name), memory }
}

const folders = (run: RunCgroup): string[] => (run.memory === null ? [run.unified] : [run.unified, run.memory])

/** Create a run's cgroup. */
export function createRun(run: RunCgroup): void {
  for (const folder of folders(run)) mkdirSync(folder)
}

/**
 * Give the kernel a limit on the run's memory; false if it cannot be set (the run already uses more).
 * Set once the run is born, not before: the launcher passes through the cgroup to fork it, and must
 * never be the one a small limit ends.
 */
export function limitMemory(bases: CgroupBases, run: RunCgroup, bytes: number): boolean {
  const limit = String(bytes)
  if (bases.memoryVersion === 2) {
    const set = tryWrite(join(run.unified, 'memory.max'), limit)
    tryWrite(join(run.unified, 'memory.swap.max'), '0')
    return set
  }
  if (bases.memoryVersion !== 1 || run.memory === null) return true
  const set = tryWrite(join(run.memory, 'memory.limit_in_bytes'), limit)
  // With swap accounting, the same bound on memory and swap together: no escape into swap.
  tryWrite(join(run.memory, 'memory.memsw.limit_in_bytes'), limit)
  return set
}

/** The `cgroup.procs` files a process writes `0` to to move itself into `run`: always two (the second may be ''). */
export function procsFiles(run: RunCgroup): [string, string] {
  return [join(run.unified, 'cgroup.procs'), run.memory === null ? '' : join(run.memory, 'cgroup.procs')]
}

/** Move the calling process (all its threads) into `run`; its children forked meanwhile start there. */
export function enter(run: RunCgroup): void {
  for (const folder of folders(run)) writeFileSync(join(folder, 'cgroup.procs'), String(process.pid))
}

/** The pids in a run's cgroup (none once it is gone). */
export function members(run: RunCgroup): number[] {
  try {
    return readFileSync(join(run.unified, 'cgroup.procs'), 'utf8').split('\n').filter((l) => l !== '').map(Number)
  } catch {
    return []
  }
}

/** SIGKILL every process of the run at once, wherever it went; false if the cgroup is gone. */
export function kill(run: RunCgroup): boolean {
  return tryWrite(join(run.unified, 'cgroup.kill'), '1')
}

/** Whether the kernel ended a process of this run for passing its memory limit. */
export function oomKilled(bases: CgroupBases, run: RunCgroup): boolean {
  const file = bases.memoryVersion === 2 ? join(run.unified, 'memory.events') : run.memory === null ? null : join(run.memory, 'memory.oom_control')
  if (file === null) return false
  try {
    return Number(/^oom_kill (\d+)/m.exec(readFileSync(file, 'utf8'))?.[1] ?? 0) > 0
  } catch {
    return false
  }
}

/** The most memory the run's processes used together (bytes), as the kernel counted it; null if unknown. */
export function peakMemory(bases: CgroupBases, run: RunCgroup): number | null {
  const file = bases.memoryVersion === 2 ? join(run.unified, 'memory.peak') : run.memory === null ? null : join(run.memory, 'memory.max_usage_in_bytes')
  if (file === null) return null
  try {
    const value = Number(readFileSync(file, 'utf8').trim())
    return Number.isFinite(value) ? value : null
  } catch {
    return null
  }
}

/** Remove an emptied run cgroup; false while processes are still leaving it. */
export function remove(run: RunCgroup): boolean {
  let done = true
  for (const folder of folders(run)) {
    try {
      rmdirSync(folder)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') done = false
    }
  }
  return done
}

/** Every run cgroup under the bases (a daemon that died leaves them behind): by name. */
export function allRuns(bases: CgroupBases): string[] {
  try {
    return readdirSync(bases.unified, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)
  } catch {
    return []
  }
}

/** Remove this home's cgroup folders once no run is left in them (the daemon is stopping). */
export function removeBases(bases: CgroupBases): void {
  for (const name of allRuns(bases)) remove(runCgroup(bases, name))
  for (const folder of new Set([bases.unified, bases.memory])) {
    if (folder === null) continue
    try {
      rmdirSync(folder)
    } catch {
      // A run still leaving: the next daemon on this home reuses the folder.
    }
  }
}

function tryWrite(file: string, text: string): boolean {
  try {
    writeFileSync(file, text)
    return true
  } catch {
    return false
  }
}
