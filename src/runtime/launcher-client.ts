// The daemon's end of the launcher's socket: connect to the launcher that keeps this home's runs, or
// start one (in its own session, so that it outlives this daemon), and say hello in one version.
import { spawn } from 'node:child_process'
import { closeSync, constants, openSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { lineReader } from '../api/line-reader.js'
import { DomainError } from '../core/errors.js'
import { launcherPaths, MAX_LINE, PROTOCOL_VERSION, type FromLauncher, type LaunchExit, type RunInfo, type ToLauncher } from './launcher-protocol.js'

const LAUNCHER = fileURLToPath(new URL('./launcher.js', import.meta.url))
/** How long a new launcher may take to listen. */
const START_WAIT_MS = 10_000

export interface Hello {
  pid: number
  runs: RunInfo[]
  exits: LaunchExit[]
}

export class LauncherClient {
  onMessage: (message: FromLauncher) => void = () => undefined
  /** The connection ended without `close()`: the launcher died (or was refused). */
  onLost: () => void = () => undefined
  private closing = false

  private constructor(
    private readonly socket: Socket,
    readonly hello: Hello,
  ) {}

  /**
   * Connect to the home's launcher, starting one if none answers. A launcher that was just leaving
   * (nothing to keep) may close a connection it had accepted: then the next one is started.
   */
  static async open(home: string, cgroupBases: string): Promise<LauncherClient> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await LauncherClient.openOnce(home, cgroupBases)
      } catch (error) {
        if (!(error instanceof LeftBeforeHello) || attempt >= 5) throw error
      }
    }
  }

  private static async openOnce(home: string, cgroupBases: string): Promise<LauncherClient> {
    const paths = launcherPaths(home)
    const existing = await tryConnect(paths.socket)
    if (existing !== null) return LauncherClient.greet(existing)
    start(home, cgroupBases, paths.log)
    const deadline = Date.now() + START_WAIT_MS
    for (;;) {
      const socket = await tryConnect(paths.socket)
      if (socket !== null) return LauncherClient.greet(socket)
      if (Date.now() > deadline) throw new Error(`the launcher did not listen on ${paths.socket} within ${START_WAIT_MS / 1000} s (see ${paths.log})`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  private static greet(socket: Socket): Promise<LauncherClient> {
    socket.setEncoding('utf8')
    return new Promise((resolve, reject) => {
      let client: LauncherClient | null = null
      // A connection that is refused or fails before hello is dropped at once: left open, it would
      // keep a daemon that failed to start from exiting.
      const fail = (error: Error): void => {
        socket.destroy()
        reject(error)
      }
      const feed = lineReader((line) => {
        const message = JSON.parse(line) as FromLauncher
        if (client !== null) return client.onMessage(message)
        if ('refused' in message) {
          fail(new DomainError('conflict', `the launcher of this home refused this daemon (${message.refused.reason}; it speaks launcher protocol ${message.refused.version}, this daemon ${PROTOCOL_VERSION}): let its runs finish, or end them, then start again`))
          return
        }
        if (!('hello' in message)) return fail(new Error('the launcher did not say hello'))
        client = new LauncherClient(socket, message.hello)
        resolve(client)
      }, MAX_LINE)
      socket.on('data', (chunk: string) => void feed(chunk))
      socket.on('error', (error) => (client === null ? fail(error) : undefined))
      socket.once('close', () => {
        if (client === null) reject(new LeftBeforeHello('the launcher closed the connection before it said hello'))
        else if (!client.closing) client.onLost()
      })
      socket.write(`${JSON.stringify({ hello: { version: PROTOCOL_VERSION, pid: process.pid } } satisfies ToLauncher)}\n`)
    })
  }

  send(message: ToLauncher): void {
    this.socket.write(`${JSON.stringify(message)}\n`)
  }

  /** Leave: `bye` when this daemon ended every run; without, the runs live on for the next daemon. */
  close(bye: boolean): Promise<void> {
    this.closing = true
    if (bye) this.send({ bye: {} })
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve())
      this.socket.end()
    })
  }
}

class LeftBeforeHello extends Error {}

function tryConnect(path: string): Promise<Socket | null> {
  return new Promise((resolve) => {
    const socket = connect(path)
    socket.once('connect', () => {
      socket.removeAllListeners('error')
      resolve(socket)
    })
    socket.once('error', () => resolve(null))
  })
}

/** Start a launcher in a session of its own, its messages appended to launcher.log. */
function start(home: string, cgroupBases: string, log: string): void {
  const out = openSync(log, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)
  try {
    const child = spawn(process.execPath, [LAUNCHER, home, cgroupBases], { detached: true, stdio: ['ignore', out, out] })
    child.unref()
  } finally {
    closeSync(out)
  }
}
