// The launcher: a small helper process that forks the task processes on the daemon's behalf.
// fork() costs time in proportion to the forking process's memory (2 ms at 50 MB, 20 ms at 370 MB),
// and a daemon holding 100,000 tasks is big; this process stays small, so a start stays cheap.
// Where the kernel offers cgroups, it also puts each run in a cgroup of its own (argv[2]: the bases).
// Protocol (IPC, JSON): in {id, file, args, cwd, env, logs, memoryBytes}; out {id, pid, pidStart, cgroup}
// or {id, error}, then {exit: {pid, code, signal, oom?, peak?}} when a process ends. It exits when the
// daemon goes away.
import { spawn, type ChildProcess } from 'node:child_process'
import * as cgroups from './cgroups.js'
import { closeInheritedDescriptors } from './inherited-fds.js'
import type { LogPolicy, LogStream } from './log-files.js'
import { LogWriter } from './log-writer.js'
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
  /** Where its stdout and stderr go: the task's log files, capped and rotated as output arrives. */
  logs: { dir: string; task: string; policy: LogPolicy }
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
  let run: cgroups.RunCgroup | null = null
  try {
    // Named before the run has a pid: a cgroup v2 folder cannot be renamed.
    const cgroup = `run-${process.pid}-${request.id}`
    if (bases !== null && home !== null) {
      run = cgroups.runCgroup(bases, cgroup)
      cgroups.createRun(run)
    }
    const child = start(request, run)
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
    const written = [writeLog(child, 'out', request), writeLog(child, 'err', request)]
    child.on('error', () => undefined)
    child.once('exit', (code, signal) => {
      const extra = placed === null ? {} : ended(placed, over)
      // Whatever the script left behind in its group ends with it (in a cgroup, `ended` did so).
      signalGroup(pid, 'SIGKILL')
      // Its last output is in the files before its exit is told (a failure's cause is read from them).
      void settled(written, OUTPUT_WAIT_MS).then(() => send({ exit: { pid, code, signal, ...extra } }))
    })
    send({ id: request.id, pid, pidStart: processStartTime(pid), cgroup: placed === null ? null : cgroup })
  } catch (error) {
    if (run !== null) cgroups.remove(run)
    send({ id: request.id, error: (error as Error).message })
  }
}

/** How long an exit waits for the run's output to be written: a process that kept the pipe open is not waited for. */
const OUTPUT_WAIT_MS = 1000

function writeLog(child: ChildProcess, stream: LogStream, request: LaunchRequest): Promise<void> {
  const source = stream === 'out' ? child.stdout : child.stderr
  if (source === null) return Promise.resolve()
  const { dir, task, policy } = request.logs
  const onError = (error: Error): void => void process.stderr.write(`supervisor launcher: ${task} ${stream} log: ${error.message}\n`)
  return new LogWriter(source, { dir, task, stream, policy, onError }).done
}

function settled(work: Promise<void>[], ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    void Promise.all(work).then(() => {
      clearTimeout(timer)
      resolve()
    })
  })
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // Gone already.
  }
}

/**
 * Fork the run. In a cgroup: the launcher steps into the run's cgroup for the fork, so the child is
 * born there (nothing it starts can be outside it, not even for an instant), then steps back.
 */
function start(request: LaunchRequest, run: cgroups.RunCgroup | null): ChildProcess {
  if (run !== null) cgroups.enter(run)
  try {
    // detached: the child leads a new session and process group, so signals reach its whole tree.
    return spawn(request.file, request.args, {
      cwd: request.cwd ?? undefined, env: request.inheritEnv ? { ...BASE_ENV, ...request.env } : request.env,
      detached: true, stdio: ['ignore', 'pipe', 'pipe'],
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
