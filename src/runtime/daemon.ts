// Starting and stopping the daemon: home, store, boot recovery, ecosystem, listeners, the one interval.
import type { Server } from 'node:http'
import { totalmem } from 'node:os'
import type { AddressInfo } from 'node:net'
import type { Limits } from '../core/admission.js'
import { restore } from '../core/reducer.js'
import { createState } from '../core/state.js'
import { resolveSettings, type DaemonSettingsInput } from '../config/daemon-settings.js'
import type { LoadedEcosystem } from '../config/ecosystem.js'
import type { DaemonContext } from '../api/context.js'
import { listenControlSocket } from '../api/control-socket.js'
import { listenHttp } from '../api/http-server.js'
import { call } from '../api/methods.js'
import { TokenRegistry } from '../api/tokens.js'
import { attachWebSocket } from '../api/ws-server.js'
import { LevelStore } from '../store/level-store.js'
import { Dispatcher } from './dispatcher.js'
import { prepareHome, type HomePaths } from './home.js'
import { systemClock, type Clock, type Spawner, type SystemProbe, type UsageProbe } from './ports.js'
import { processMonitor } from './process-monitor.js'
import { ProcessSpawner } from './process-spawner.js'
import { endGroups, leftoverGroups } from './recovery.js'
import { DEFAULT_SUPERVISOR_TIMING, Supervisor } from './supervisor.js'
import { systemProbe } from './system-probe.js'
import { SLOW_TICK_MS, Ticker } from './ticker.js'

/** Memory need assumed for a task with no `memory` and no observed peak. */
export const DEFAULT_NEED_BYTES = 64 * 1024 * 1024

export interface DaemonOptions {
  home: HomePaths
  /** Settings from the command line; they win over the ecosystem's `supervisor` section. */
  flags: DaemonSettingsInput
  ecosystem?: LoadedEcosystem
  clock?: Clock
  spawner?: Spawner
  probe?: SystemProbe
  monitor?: UsageProbe
}

export interface DaemonHandle {
  ctx: DaemonContext
  host: string
  port: number
  /** Resolves once the daemon has fully stopped (by `stop()`, a signal handler, or `ctl shutdown`). */
  stopped: Promise<void>
  stop(): Promise<void>
}

export async function startDaemon(options: DaemonOptions): Promise<DaemonHandle> {
  const clock = options.clock ?? systemClock
  const totalMemory = totalmem()
  const settings = resolveSettings([options.ecosystem?.supervisor ?? {}, options.flags], totalMemory)
  const limits: Limits = {
    maxConcurrent: settings.maxConcurrent, maxCpu: settings.maxCpu,
    minFreeBytes: settings.minFreeBytes, defaultNeedBytes: DEFAULT_NEED_BYTES,
  }
  await prepareHome(options.home)
  const store = await LevelStore.open(options.home.db)
  const closers: (() => Promise<void>)[] = [() => store.close()]
  try {
    // The launcher forks now, while this process is small: a fork costs more the bigger the parent.
    const logPolicy = { maxBytes: settings.logMaxBytes, keep: settings.logFiles }
    const spawner = options.spawner ?? new ProcessSpawner({ home: options.home.root, logs: options.home.logs, logPolicy })
    spawner.prepare?.()
    // A boot that fails from here on lets the launcher go too (closing it twice is harmless).
    closers.push(async () => spawner.close?.())
    const state = createState({ urgencyMs: settings.urgencyMs, backoff: settings.backoff, stableMs: settings.stableMs })
    state.seq = store.lastSeq
    await store.forEachTask((task) => restore(state, task))
    // Runs a crashed daemon left behind end before anything starts again, so no task runs twice at once.
    await endGroups(leftoverGroups(state, options.home.root), spawner, settings.killTimeoutMs)
    spawner.endLeftoverCgroups?.()
    const probe = options.probe ?? systemProbe()
    const supervisor = new Supervisor(new Dispatcher(state, store), {
      clock, spawner, probe, monitor: options.monitor ?? processMonitor,
    }, {
      ...DEFAULT_SUPERVISOR_TIMING, logDir: options.home.logs, limits, killTimeoutMs: settings.killTimeoutMs,
      logPolicy, historyKeep: settings.historyKeep,
    })
    await supervisor.request({ type: 'boot', now: clock.now() })

    let stopping: Promise<void> | null = null
    let markStopped: () => void = () => undefined
    const stopped = new Promise<void>((resolve) => (markStopped = resolve))
    const stop = (): Promise<void> => (stopping ??= shutdown().then(markStopped))
    const ctx: DaemonContext = {
      supervisor, store, settings, limits, totalMemory, clock, home: options.home.root, startedAt: clock.now(),
      tokens: await TokenRegistry.load(store),
      shutdown: () => void stop(),
    }
    if (options.ecosystem !== undefined) {
      const { tasks, baseDir } = options.ecosystem
      await call(ctx, 'owner', 'tasks.apply', { tasks, baseDir })
    }
    await supervisor.sampleNow().catch(() => undefined)
    const socket = await listenControlSocket(ctx, options.home.socket)
    closers.unshift(() => socket.close())
    const http: Server = await listenHttp(ctx, settings.host, settings.port)
    closers.unshift(() => closeServer(http))
    const ws = attachWebSocket(ctx, http)
    closers.unshift(() => ws.close())
    const ticker = new Ticker(settings.tickMs, () => supervisor.tick(SLOW_TICK_MS + settings.tickMs))
    supervisor.onWake = () => ticker.wake()
    ticker.start()
    supervisor.kick()

    async function shutdown(): Promise<void> {
      ticker.stop()
      await supervisor.stopAll()
      spawner.close?.()
      for (const close of closers) await close().catch(() => undefined)
    }
    const address = http.address() as AddressInfo
    return { ctx, host: address.address, port: address.port, stopped, stop }
  } catch (error) {
    for (const close of closers) await close().catch(() => undefined)
    throw error
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

