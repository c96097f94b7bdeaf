// The launcher: a small helper process that forks the task processes on the daemon's behalf.
// fork() costs time in proportion to the forking process's memory (2 ms at 50 MB, 20 ms at 370 MB),
// and a daemon holding 100,000 tasks is big; this process stays small, so a start stays cheap.
// Where the kernel offers cgroups, it also puts each run in a cgroup of its own (argv[2]: the bases).
// Protocol (IPC, JSON): in {id, file, args, cwd, env, out, err, memoryBytes}; out {id, pid, pidStart, cgroup}
// or {id, error}, then {exit: {pid, code, signal, oom?, peak?}} when a process ends. It exits when the
// daemon goes away.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import * as cgroups from './cgroups.js'
import { closeInheritedDescriptors } from './inherited-fds.js'
import { processStartTime } from './proc.js'

export interface LaunchRequest {
  id: number
  file: string
  args: string[]
  cwd: string | null
  /** The run's environment: added to the launcher's own (inherited from the daemon), or alone. */
  env: Record<string, string>
  /** False for a run as another user: it gets `env` alone, nothing of the daemon's environment. */
  inheritEnv: boolean
  /** Log files the process appends its stdout and stderr to. */
  out: string
  err: string
  /** The kernel's limit on the run's memory, where its cgroup can have one. */
  memoryBytes: number | null
}

export type LaunchReply =
  /** `cgroup`: the name of the run's cgroup under the bases, if it has one. */
  | { id: number; pid: number; pidStart: string | null; cgroup: string | null }
  | { id: number; error: string }
  | { exit: LaunchExit }

export interface LaunchExit {
  pid: number
  code: number | null
  signal: string | null
  /** The kernel ended a process of the run for passing its memory limit. */
  oom?: boolean
  /** The most memory the run used, as its cgroup counted it. */
  peak?: number
}

/** The environment runs inherit, read once: each read of `process.env` is a call into the C++ side. */
const BASE_ENV: Record<string, string | undefined> = { ...process.env }

function send(message: LaunchReply): void {
  process.send?.(message)
}

const bases = parseBases(process.argv[2])
const home = bases === null ? null : cgroups.ownCgroups(bases)

function parseBases(text: string | undefined): cgroups.CgroupBases | null {
  try {
    return text === undefined ? null : (JSON.parse(text) as cgroups.CgroupBases | null)
  } catch {
    return null
  }
}

function launch(request: LaunchRequest): void {
  let out: number | null = null
  let err: number | null = null
  let run: cgroups.RunCgroup | null = null
  try {
    out = openSync(request.out, 'a', 0o600)
    err = openSync(request.err, 'a', 0o600)
    // Named before the run has a pid: a cgroup v2 folder cannot be renamed.
    const cgroup = `run-${process.pid}-${request.id}`
    if (bases !== null && home !== null) {
      run = cgroups.runCgroup(bases, cgroup)
      cgroups.createRun(run)
    }
    const child = start(request, out, err, run)
    if (child.pid === undefined) {
      if (run !== null) cgroups.remove(run)
      child.once('error', (error) => send({ id: request.id, error: error.message }))
      return
    }
    const pid = child.pid
    const placed = run
    // A limit the run passed before it could be set (it cannot be lowered below use): ended at once.
    const over = placed !== null && bases !== null && request.memoryBytes !== null && !cgroups.limitMemory(bases, placed, request.memoryBytes)
    if (over && placed !== null) cgroups.kill(placed)
    child.on('error', () => undefined)
    child.once('exit', (code, signal) => send({ exit: { pid, code, signal, ...(placed === null ? {} : ended(placed, over)) } }))
    send({ id: request.id, pid, pidStart: processStartTime(pid), cgroup: placed === null ? null : cgroup })
  } catch (error) {
    if (run !== null) cgroups.remove(run)
    send({ id: request.id, error: (error as Error).message })
  } finally {
    if (out !== null) closeSync(out)
    if (err !== null) closeSync(err)
  }
}

/**
 * Fork the run. In a cgroup: the launcher steps into the run's cgroup for the fork, so the child is
 * born there (nothing it starts can be outside it, not even for an instant), then steps back.
 */
function start(request: LaunchRequest, out: number, err: number, run: cgroups.RunCgroup | null): ChildProcess {
  if (run !== null) cgroups.enter(run)
  try {
    // detached: the child leads a new session and process group, so signals reach its whole tree.
    return spawn(request.file, request.args, {
      cwd: request.cwd ?? undefined, env: request.inheritEnv ? { ...BASE_ENV, ...request.env } : request.env,
      detached: true, stdio: ['ignore', out, err],
    })
  } finally {
    if (run !== null && home !== null) cgroups.enter(home)
  }
}

/** The run's leader ended: what the kernel says of its memory, then whatever it left behind ends too. */
function ended(run: cgroups.RunCgroup, over: boolean): Pick<LaunchExit, 'oom' | 'peak'> {
  if (bases === null) return {}
  const oom = over || cgroups.oomKilled(bases, run)
  const peak = cgroups.peakMemory(bases, run)
  cgroups.kill(run)
  removeWhenEmpty(run, 0)
  return { ...(oom ? { oom } : {}), ...(peak === null ? {} : { peak }) }
}

/** A killed cgroup empties as its processes finish dying: remove it then (tries for about 10 s). */
function removeWhenEmpty(run: cgroups.RunCgroup, tries: number): void {
  if (cgroups.remove(run) || tries >= 100) return
  setTimeout(() => removeWhenEmpty(run, tries + 1), 100).unref()
}

if (process.send !== undefined) {
  // Before any run starts: nothing the daemon holds (its database above all) may reach a task.
  closeInheritedDescriptors()
  process.on('message', (message) => launch(message as LaunchRequest))
  // The daemon is gone (stopped or killed): the runs it started live on, for the next daemon to find.
  process.on('disconnect', () => process.exit(0))
  // Signals meant for the daemon (Ctrl-C reaches the whole terminal group, a service manager the whole
  // service) are not for the launcher: the daemon ends the runs and lets the launcher go after them.
  process.on('SIGINT', () => undefined)
  process.on('SIGTERM', () => undefined)
}
