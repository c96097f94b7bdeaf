// Starting and stopping the daemon: home, store, boot recovery, ecosystem, listeners, the one interval.
import type { Server } from 'node:http'
import { totalmem } from 'node:os'
import { connect, type AddressInfo } from 'node:net'
import type { Limits } from '../core/admission.js'
import { restore } from '../core/reducer.js'
import { DomainError } from '../core/errors.js'
import { createState, reconfigure, type CoreConfig } from '../core/state.js'
import { resolveSettings, type DaemonSettings, type DaemonSettingsInput } from '../config/daemon-settings.js'
import { loadEcosystem, type LoadedEcosystem } from '../config/ecosystem.js'
import { liveSettings, settingsChange } from '../config/live-settings.js'
import type { DaemonContext, ReloadResult } from '../api/context.js'
import { connectionBound, softOpenFiles } from '../api/listener-bounds.js'
import { listenControlSocket } from '../api/control-socket.js'
import { listenHttp } from '../api/http-server.js'
import { DaemonMetrics } from '../api/metrics.js'
import { taskView } from '../core/view.js'
import { Notifier } from './notifier.js'
import { call } from '../api/methods.js'
import { TokenRegistry } from '../api/tokens.js'
import { attachWebSocket } from '../api/ws-server.js'
import { LevelStore } from '../store/level-store.js'
import { PgStore } from '../store/pg-store.js'
import { isShared } from '../store/store.js'
import { VERSION } from '../api/daemon-info.js'
import { Membership } from './cluster.js'
import type { Store } from '../store/store.js'
import { Dispatcher } from './dispatcher.js'
import { prepareHome, type HomePaths } from './home.js'
import { systemClock, type Clock, type Spawner, type SystemProbe, type UsageProbe } from './ports.js'
import { processMonitor } from './process-monitor.js'
import { ProcessSpawner } from './process-spawner.js'
import { planAdoption, type AdoptionPlan } from './adoption.js'
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
  /** The file `ecosystem` came from (absolute): `ctl reload` and SIGHUP read it again. */
  configFile?: string
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
  /** Read the --config file again (see `DaemonContext.reload`). */
  reload(): Promise<ReloadResult>
}

export async function startDaemon(options: DaemonOptions): Promise<DaemonHandle> {
  const clock = options.clock ?? systemClock
  const totalMemory = totalmem()
  const settings = resolveSettings([options.ecosystem?.supervisor ?? {}, options.flags], totalMemory)
  const limits: Limits = {
    maxConcurrent: settings.maxConcurrent, maxCpu: settings.maxCpu,
    minFreeBytes: settings.minFreeBytes, defaultNeedBytes: DEFAULT_NEED_BYTES, totalBytes: totalMemory,
  }
  await prepareHome(options.home)
  // LevelDB's lock keeps a second daemon off the home; with PostgreSQL, a daemon answering on its socket does.
  if (settings.store !== null && (await socketAnswers(options.home.socket))) {
    throw new DomainError('conflict', `another daemon is already running on ${options.home.root}`)
  }
  const store: Store = settings.store === null ? await LevelStore.open(options.home.db) : await PgStore.open(settings.store, { node: settings.node })
  const closers: (() => Promise<void>)[] = [() => store.close()]
  try {
    // The launcher that kept this home's runs, or a new one (started now, while this process is small:
    // a fork costs more the bigger the parent).
    const logPolicy = { maxBytes: settings.logMaxBytes, keep: settings.logFiles }
    const spawner = options.spawner ?? new ProcessSpawner({ home: options.home.root, logs: options.home.logs, logPolicy })
    const kept = (await spawner.attach?.()) ?? { runs: [], exits: [] }
    // A boot that fails from here on leaves the runs to the launcher, for the next daemon.
    closers.push(async () => spawner.detach?.())
    const state = createState(coreConfig(settings, isShared(store)))
    await store.forEachTask((task) => restore(state, task))
    // After the records: a shared store reads them and the head they stand at in one snapshot.
    state.seq = store.lastSeq
    const adoption = planAdoption(state, kept)
    // Runs a crashed daemon left behind that nobody kept end before anything starts again, so no task
    // runs twice at once; the kept ones go on.
    const spare = new Set([...adoption.adopt, ...adoption.unrecorded].flatMap((run) => spawner.runMembers?.(run) ?? [run.pid]))
    await endGroups(leftoverGroups(state, options.home.root, spare), spawner, settings.killTimeoutMs)
    spawner.endLeftoverCgroups?.(new Set([...adoption.adopt, ...adoption.unrecorded].flatMap((run) => (run.cgroup === null ? [] : [run.cgroup]))))
    const probe = options.probe ?? systemProbe()
    const supervisor = new Supervisor(new Dispatcher(state, store), {
      clock, spawner, probe, monitor: options.monitor ?? processMonitor,
    }, {
      ...DEFAULT_SUPERVISOR_TIMING, logDir: options.home.logs, limits, killTimeoutMs: settings.killTimeoutMs,
      logPolicy, historyKeep: settings.historyKeep, unknownDurationMs: settings.defaultExpectMs,
    })
    supervisor.hold()
    let membership: Membership | null = null
    // In a cluster, webhooks are delivered by the one node holding the lead.
    let leading = !isShared(store)
    let wakeNotifier = (): void => undefined
    if (isShared(store)) {
      // Told of every commit, by any node; the tick also reads the head now and then.
      // (Its own commits are announced too: those it has applied already cost nothing.)
      await store.onAdvance((head) => {
        // What it reads kicks the tick (supervisor.ts, `followed`).
        if (head > state.seq) void supervisor.dispatcher.follow().catch(() => undefined)
      })
      membership = new Membership(store, supervisor, {
        node: settings.node, timeoutMs: settings.nodeTimeoutMs, version: VERSION,
        onLead: (leads) => {
          const was = leading
          leading = leads
          if (leads && !was) wakeNotifier()
        },
      })
      await membership.start()
      const joined = membership
      closers.unshift(() => joined.close())
    }
    await supervisor.request({ type: 'boot', now: clock.now(), keep: adoption.keep })
    await readopt(supervisor, spawner, adoption)
    supervisor.release()

    let stopping: Promise<void> | null = null
    let markStopped: () => void = () => undefined
    const stopped = new Promise<void>((resolve) => (markStopped = resolve))
    const stop = (keepRunning = false): Promise<void> => (stopping ??= shutdown(keepRunning).then(markStopped))
    if (store instanceof PgStore) {
      store.onNameLost = (problem) => {
        process.stderr.write(`error: ${problem}; this daemon stops (two daemons must not share a node name)\n`)
        void stop()
      }
    }
    const ctx: DaemonContext = {
      supervisor, store, settings, limits, totalMemory, clock, home: options.home.root, startedAt: clock.now(),
      tokens: await TokenRegistry.load(store),
      shutdown: (keepRunning = false) => void stop(keepRunning),
    }
    if (membership !== null) {
      const joined = membership
      ctx.nodes = () => joined.nodes()
      // Tokens are shared: one created or revoked on another node holds here within a second or so.
      const tokenRefresh = setInterval(() => void ctx.tokens.refresh().catch(() => undefined), TOKEN_REFRESH_MS)
      tokenRefresh.unref()
      closers.unshift(async () => clearInterval(tokenRefresh))
    }
    if (options.ecosystem !== undefined) {
      const { tasks, baseDir } = options.ecosystem
      await call(ctx, 'owner', 'tasks.apply', { tasks, baseDir })
    }
    await supervisor.sampleNow().catch(() => undefined)
    let wsClients = (): number => 0
    const metrics = new DaemonMetrics(supervisor, () => wsClients())
    ctx.metrics = metrics
    closers.unshift(async () => metrics.close())
    // Webhooks read the log from their own cursors, off the tick; undelivered events survive restarts.
    const notifier = new Notifier(store, (wake) => supervisor.dispatcher.subscribe(() => wake()), {
      view: (name) => {
        const task = state.tasks.get(name)
        return task === undefined ? null : taskView(task, null)
      },
      delivered: () => metrics.webhook(true),
      failed: () => metrics.webhook(false),
    })
    notifier.leads = () => leading
    wakeNotifier = () => notifier.wakeAll()
    await notifier.configure(settings.notify)
    ctx.webhookErrors = () => notifier.errors()
    closers.unshift(() => notifier.close())
    const socket = await listenControlSocket(ctx, options.home.socket)
    closers.unshift(() => socket.close())
    const http: Server = await listenHttp(ctx, settings.host, settings.port)
    closers.unshift(() => closeServer(http))
    const ws = attachWebSocket(ctx, http)
    wsClients = () => ws.clients
    closers.unshift(() => ws.close())
    const ticker = new Ticker(settings.tickMs, () => supervisor.tick(SLOW_TICK_MS + settings.tickMs))
    supervisor.onWake = () => ticker.wake()
    ticker.start()
    supervisor.kick()

    /**
     * The --config file read again: its tasks applied as `ctl apply` does (all or nothing), then the
     * settings that can change live changed; flags still win over the file. A bad file changes nothing.
     */
    async function reload(): Promise<ReloadResult> {
      const file = options.configFile
      if (file === undefined) throw new DomainError('invalid', 'reload: the daemon was started without --config: there is no file to read again')
      const ecosystem = await loadEcosystem(file)
      const next = resolveSettings([ecosystem.supervisor ?? {}, options.flags], totalMemory)
      const change = settingsChange(settings, next)
      const tasks = (await call(ctx, 'owner', 'tasks.apply', { tasks: ecosystem.tasks, baseDir: ecosystem.baseDir })) as ReloadResult['tasks']
      await applySettings(liveSettings(settings, next))
      return { file, tasks, settings: change.live, needRestart: change.restart }
    }

    async function applySettings(next: DaemonSettings): Promise<void> {
      Object.assign(limits, { maxConcurrent: next.maxConcurrent, maxCpu: next.maxCpu, minFreeBytes: next.minFreeBytes })
      Object.assign(logPolicy, { maxBytes: next.logMaxBytes, keep: next.logFiles })
      Object.assign(supervisor.options, { killTimeoutMs: next.killTimeoutMs, historyKeep: next.historyKeep, unknownDurationMs: next.defaultExpectMs })
      await supervisor.dispatcher.serial(async () => {
        reconfigure(state, coreConfig(next, state.config.shared))
      })
      await notifier.configure(next.notify)
      ticker.setTick(next.tickMs)
      http.maxConnections = connectionBound(softOpenFiles(), next.maxConnections)
      Object.assign(settings, next)
      supervisor.kick()
    }
    ctx.reload = reload

    async function shutdown(keepRunning: boolean): Promise<void> {
      ticker.stop()
      if (keepRunning) {
        // The runs stay with the launcher, which journals their exits for the next daemon.
        await supervisor.leaveRunning()
        await spawner.detach?.()
      } else {
        await supervisor.stopAll()
        await spawner.close?.()
      }
      for (const close of closers) await close().catch(() => undefined)
    }
    const address = http.address() as AddressInfo
    return { ctx, host: address.address, port: address.port, stopped, stop, reload }
  } catch (error) {
    for (const close of closers) await close().catch(() => undefined)
    throw error
  }
}

/** The core's part of the settings: at start and on every reload. */
function coreConfig(settings: DaemonSettings, shared: boolean): CoreConfig {
  return {
    urgencyMs: settings.urgencyMs, backoff: settings.backoff, stableMs: settings.stableMs, killTimeoutMs: settings.killTimeoutMs,
    defaultOnFailure: settings.defaultOnFailure, node: settings.node, shared,
  }
}

/** How often a cluster node reads the tokens again. */
const TOKEN_REFRESH_MS = 1000

/** Whether something accepts connections on this Unix socket (a daemon of this home). */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

/**
 * Take over what the launcher kept: runs recorded as running watched again as they are, runs whose
 * start was never recorded recorded now, exits of runs that ended while no daemon was there recorded
 * with their real status; runs of tasks gone meanwhile ended; exits nobody owns forgotten.
 */
async function readopt(supervisor: Supervisor, spawner: Spawner, adoption: AdoptionPlan): Promise<void> {
  for (const run of adoption.adopt) supervisor.adopt(run)
  await Promise.all(adoption.unrecorded.map((run) => supervisor.adoptUnrecorded(run)))
  for (const exit of adoption.exits) supervisor.exitedMeanwhile(exit)
  for (const exit of adoption.unrecordedExits) {
    await supervisor.adoptUnrecorded({ task: exit.task, pid: exit.pid, pidStart: exit.pidStart, cgroup: null, startedAt: exit.startedAt }, false)
    supervisor.exitedMeanwhile(exit)
  }
  for (const exit of adoption.stale) spawner.acknowledge?.(exit.pid, exit.pidStart)
  for (const run of adoption.orphans) {
    spawner.adopt?.(run, (status) => spawner.acknowledge?.(status.pid, status.pidStart ?? null))
    spawner.signalGroup(run.pid, 'SIGKILL')
  }
}
