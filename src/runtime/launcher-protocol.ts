// What the daemon and its launcher say to each other over the launcher's socket (`launcher.sock` in the
// home, mode 0600): one JSON object a line. The launcher outlives daemons, so a daemon may meet a
// launcher of another release: the first exchange names the protocol version.
import { join } from 'node:path'
import type { LogPolicy } from './log-files.js'

/** Raised whenever a message changes meaning; a daemon refuses to start beside a launcher of another. */
export const PROTOCOL_VERSION = 1

export interface LaunchRequest {
  id: number
  /** The task the run belongs to (the launcher reports it back on adoption). */
  task: string
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

/** A run the launcher started and watches. */
export interface RunInfo {
  task: string
  pid: number
  pidStart: string | null
  /** The name of its cgroup under the home's, if it has one. */
  cgroup: string | null
  /** When it started (ms since the epoch). */
  startedAt: number
}

/** How a run ended, as the launcher journals it before telling anyone. */
export interface LaunchExit {
  task: string
  pid: number
  pidStart: string | null
  code: number | null
  signal: string | null
  startedAt: number
  /** When its leader ended (ms since the epoch): it may have ended while no daemon was there. */
  endedAt: number
  /** The kernel ended a process of the run for passing its memory limit. */
  oom?: boolean
  /** The most memory the run used, as its cgroup counted it. */
  peak?: number
}

/** Daemon to launcher. */
export type ToLauncher =
  /** `pid`: the daemon's own, so that a launcher can tell a daemon that died from one still there. */
  | { hello: { version: number; pid?: number } }
  | { launch: LaunchRequest }
  /** The daemon committed this exit: the launcher may forget it. */
  | { ack: { pid: number; pidStart: string | null } }
  /** The daemon is stopping and has ended every run: nothing will follow. */
  | { bye: Record<string, never> }

/** Launcher to daemon. */
export type FromLauncher =
  /** The answer to hello: the runs it watches and the exits no daemon has committed yet. */
  | { hello: { version: number; pid: number; runs: RunInfo[]; exits: LaunchExit[] } }
  | { started: { id: number; run: RunInfo } }
  | { failed: { id: number; error: string } }
  | { exit: LaunchExit }
  /** The launcher speaks another version, or another daemon holds it. */
  | { refused: { version: number; reason: string } }

/** The longest line either side accepts (a launch request holds at most ~1 MiB of args and env). */
export const MAX_LINE = 4 * 1024 * 1024

/** The key a run is known by on both sides: a pid alone may be reused by the kernel. */
export const runKey = (pid: number, pidStart: string | null): string => `${pid}:${pidStart ?? ''}`

/** Where a launcher of `home` listens, journals and writes its own messages. */
export const launcherPaths = (home: string): { socket: string; journal: string; log: string } => ({
  socket: join(home, 'launcher.sock'), journal: join(home, 'launcher.journal'), log: join(home, 'launcher.log'),
})
