// The launcher: a small process that forks the task processes and keeps them. It outlives the daemon
// (its own session), so a crash or an upgrade of the daemon costs no running task: the next daemon
// connects to its socket and re-adopts the runs. Every exit is journaled (synced) before it is told,
// and forgotten only once a daemon has committed it.
// fork() costs time in proportion to the forking process's memory (2 ms at 50 MB, 20 ms at 370 MB),
// and a daemon holding 100,000 tasks is big; this process stays small, so a start stays cheap.
// Where the kernel offers cgroups, it also puts each run in a cgroup of its own.
// Usage: node launcher.js HOME CGROUP_BASES_JSON. It goes away by itself once no daemon is connected
// and no run of its own is alive.
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, unlinkSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { lineReader } from '../api/line-reader.js'
import * as cgroups from './cgroups.js'
import { closeInheritedDescriptors } from './inherited-fds.js'
import { LauncherJournal } from './launcher-journal.js'
import { launcherPaths, MAX_LINE, PROTOCOL_VERSION, type FromLauncher, type LaunchExit, type LaunchRequest, type RunInfo, type ToLauncher } from './launcher-protocol.js'
import type { LogStream } from './log-files.js'
import { LogWriter } from './log-writer.js'
import { markTimesSince } from './log-times.js'
import { processStartTime } from './proc.js'

/** The environment runs inherit, read once: each read of `process.env` is a call into the C++ side. */
const BASE_ENV: Record<string, string | undefined> = { ...process.env }

/** The runs this launcher started and that still run, by pid. */
const runs = new Map<number, RunInfo>()
/** The daemon connected now, if any (one at a time: the daemon holds its home's database lock). */
let daemon: Socket | null = null
/** Its pid, as its hello said. */
let daemonPid: number | null = null
let journal: LauncherJournal | null = null

function send(message: FromLauncher): void {
  daemon?.write(`${JSON.stringify(message)}\n`)
}

const bases = parseBases(process.argv[3])
const ownCgroup = bases === null ? null : cgroups.ownCgroups(bases)

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
    if (bases !== null && ownCgroup !== null) {
      run = cgroups.runCgroup(bases, cgroup, request.memoryBytes !== null)
      cgroups.createRun(run)
    }
    const child = start(request, run)
    if (child.pid === undefined) {
      if (run !== null) cgroups.remove(run)
      child.once('error', (error) => send({ failed: { id: request.id, error: error.message } }))
      return
    }
    const pid = child.pid
    const placed = run
    // A limit the run passed before it could be set (it cannot be lowered below use): ended at once.
    const over = placed !== null && bases !== null && request.memoryBytes !== null && !cgroups.limitMemory(bases, placed, request.memoryBytes)
    if (over && placed !== null) cgroups.kill(placed)
    const written = [writeLog(child, 'out', request), writeLog(child, 'err', request)]
    const info: RunInfo = { task: request.task, pid, pidStart: processStartTime(pid), cgroup: placed === null ? null : cgroup, startedAt: Date.now() }
    runs.set(pid, info)
    child.on('error', () => undefined)
    child.once('exit', (code, signal) => {
      const endedAt = Date.now()
      const extra = placed === null ? {} : ended(placed, over)
      // Whatever the script left behind in its group ends with it (in a cgroup, `ended` did so).
      signalGroup(pid, 'SIGKILL')
      // Its last output is in the files before its exit is told (a failure's cause is read from them).
      void settled(written, OUTPUT_WAIT_MS).then(() => finished({ task: info.task, pid, pidStart: info.pidStart, startedAt: info.startedAt, code, signal, endedAt, ...extra }))
    })
    send({ started: { id: request.id, run: info } })
  } catch (error) {
    if (run !== null) cgroups.remove(run)
    send({ failed: { id: request.id, error: (error as Error).message } })
  }
}

/**
 * A line to launcher.log. It may fail (the disk full is when there is most to say): never fatal to the
 * keeper of the runs.
 */
function say(text: string): void {
  try {
    process.stderr.write(`supervisor launcher: ${text}\n`)
  } catch {
    // Nowhere to say it.
  }
}

/** Exits of this turn, journaled together at its end. */
let unjournaled: LaunchExit[] = []

/** A run ended: journaled (synced) first, with the others that ended in the same turn, then told to the daemon if one is there. */
function finished(exit: LaunchExit): void {
  runs.delete(exit.pid)
  unjournaled.push(exit)
  if (unjournaled.length === 1) setImmediate(journalAndTell)
}

function journalAndTell(): void {
  const exits = unjournaled
  unjournaled = []
  try {
    journal?.recordExits(exits)
  } catch (error) {
    say(`journaling the exits of ${exits.map((e) => `${e.task} (pid ${e.pid})`).join(', ')} failed: ${(error as Error).message}`)
  }
  for (const exit of exits) send({ exit })
  goIfIdle()
}

/** How long an exit waits for the run's output to be written: a process that kept the pipe open is not waited for. */
const OUTPUT_WAIT_MS = 1000

function writeLog(child: ChildProcess, stream: LogStream, request: LaunchRequest): Promise<void> {
  const source = stream === 'out' ? child.stdout : child.stderr
  if (source === null) return Promise.resolve()
  const { dir, task, policy } = request.logs
  const onError = (error: Error): void => say(`${task} ${stream} log: ${error.message}`)
  markTimesSince(dir)
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
 * In a cgroup, the child steps into it itself before it runs anything (`sh` moving itself, then exec):
 * nothing the run starts can be outside it, not even for an instant. A process moving itself costs
 * ~0.4 ms of its own time here; the launcher stepping in for the fork and out again cost ~1 ms of the
 * launcher's, in which no other run could start.
 */
const ENTER = 'echo 0 > "$1" && { [ -z "$2" ] || echo 0 > "$2"; } && shift 2 && exec "$@"'

/** Fork the run. */
function start(request: LaunchRequest, run: cgroups.RunCgroup | null): ChildProcess {
  const [file, args] = run === null
    ? [request.file, request.args]
    : ['/bin/sh', ['-c', ENTER, 'supervisor-run', ...cgroups.procsFiles(run), request.file, ...request.args]]
  // detached: the child leads a new session and process group, so signals reach its whole tree.
  return spawn(file, args, {
    cwd: request.cwd ?? undefined, env: request.inheritEnv ? { ...BASE_ENV, ...request.env } : request.env,
    detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  })
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

/**
 * Serve one daemon: hello first (same protocol version), then launches and acknowledgements. Nothing is
 * sent to a connection before its hello is answered: exits that end meanwhile are in that answer.
 */
function serve(socket: Socket): void {
  socket.setEncoding('utf8')
  let greeted = false
  const refuse = (reason: string): void => void socket.end(`${JSON.stringify({ refused: { version: PROTOCOL_VERSION, reason } })}\n`)
  const feed = lineReader((line) => {
    let message: ToLauncher
    try {
      message = JSON.parse(line) as ToLauncher
    } catch {
      socket.destroy()
      return
    }
    if (!greeted) {
      if (!('hello' in message) || message.hello.version !== PROTOCOL_VERSION) return refuse('protocol version')
      // One daemon at a time. One that was killed may not have been seen to go yet: if its process is
      // gone, the newcomer takes its place (the database lock keeps two live daemons off one home).
      if (daemon !== null && daemonPid !== null && processAlive(daemonPid)) return refuse('another daemon is connected')
      daemon?.destroy()
      daemon = socket
      daemonPid = message.hello.pid ?? null
      greeted = true
      send({ hello: { version: PROTOCOL_VERSION, pid: process.pid, runs: [...runs.values()], exits: journal?.owed() ?? [] } })
      return
    }
    if ('launch' in message) launch(message.launch)
    else if ('ack' in message) journal?.acknowledge(message.ack.pid, message.ack.pidStart)
  }, MAX_LINE)
  socket.on('data', (chunk: string) => {
    if (!feed(chunk)) socket.destroy()
  })
  socket.on('error', () => undefined)
  socket.once('close', () => {
    if (daemon !== socket) return
    daemon = null
    daemonPid = null
    goIfIdle()
  })
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Nothing to keep and nobody to tell: go (the journal stays for the next daemon). */
function goIfIdle(): void {
  // An exit not journaled yet is still owed to someone.
  if (daemon !== null || runs.size > 0 || unjournaled.length > 0) return
  journal?.close()
  // This home's cgroup folders go with the last of its runs (a daemon that died could not remove them).
  if (bases !== null) cgroups.removeBases(bases)
  try {
    unlinkSync(paths.socket)
  } catch {
    // Gone already.
  }
  process.exit(0)
}

const home = process.argv[2]
const paths = launcherPaths(home ?? '.')
if (home !== undefined && process.argv[1]?.endsWith('launcher.js') === true) {
  // Before any run starts: nothing the daemon holds (its database above all) may reach a task.
  closeInheritedDescriptors()
  process.stderr.on('error', () => undefined)
  process.stdout.on('error', () => undefined)
  journal = new LauncherJournal(paths.journal)
  // A socket left by a launcher that died (the daemon only starts one when none answers).
  try {
    unlinkSync(paths.socket)
  } catch {
    // None.
  }
  const server = createServer(serve)
  server.listen(paths.socket, () => chmodSync(paths.socket, 0o600))
  // The daemon that started it connects at once; if it never does, do not linger.
  setTimeout(goIfIdle, 30_000).unref()
  // Signals meant for the daemon (a service manager's stop, a terminal's Ctrl-C) are not for the runs'
  // keeper: the daemon ends the runs on a stop, and the launcher goes after them.
  process.on('SIGINT', () => undefined)
  process.on('SIGTERM', () => undefined)
  process.on('SIGHUP', () => undefined)
}
