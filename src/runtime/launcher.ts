// The launcher: a small helper process that forks the task processes on the daemon's behalf.
// fork() costs time in proportion to the forking process's memory (2 ms at 50 MB, 20 ms at 370 MB),
// and a daemon holding 100,000 tasks is big; this process stays small, so a start stays cheap.
// Protocol (IPC, JSON): in {id, file, args, cwd, env, out, err}; out {id, pid, pidStart} or {id, error},
// then {exit: {pid, code, signal}} when a process ends. It exits when the daemon goes away.
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
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
}

export type LaunchReply =
  | { id: number; pid: number; pidStart: string | null }
  | { id: number; error: string }
  | { exit: { pid: number; code: number | null; signal: string | null } }

/** The environment runs inherit, read once: each read of `process.env` is a call into the C++ side. */
const BASE_ENV: Record<string, string | undefined> = { ...process.env }

function send(message: LaunchReply): void {
  process.send?.(message)
}

function launch(request: LaunchRequest): void {
  let out: number | null = null
  let err: number | null = null
  try {
    out = openSync(request.out, 'a', 0o600)
    err = openSync(request.err, 'a', 0o600)
    // detached: the child leads a new session and process group, so signals reach its whole tree.
    const child = spawn(request.file, request.args, {
      cwd: request.cwd ?? undefined, env: request.inheritEnv ? { ...BASE_ENV, ...request.env } : request.env, detached: true, stdio: ['ignore', out, err],
    })
    if (child.pid === undefined) {
      child.once('error', (error) => send({ id: request.id, error: error.message }))
      return
    }
    const pid = child.pid
    child.on('error', () => undefined)
    child.once('exit', (code, signal) => send({ exit: { pid, code, signal } }))
    send({ id: request.id, pid, pidStart: processStartTime(pid) })
  } catch (error) {
    send({ id: request.id, error: (error as Error).message })
  } finally {
    if (out !== null) closeSync(out)
    if (err !== null) closeSync(err)
  }
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
