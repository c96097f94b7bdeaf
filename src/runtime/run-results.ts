// The starts and exits of runs on their way to the log. They are facts, not requests: gathered while
// the dispatcher is busy, logged together in one batch (a run's start before its exit), and kept and
// tried again until their write lands, however long the store refuses it. Nothing here decides.
import type { Action } from '../core/actions.js'
import type { Dispatcher } from './dispatcher.js'

export interface RunResultsOptions {
  /** A failed write is tried again after this, then twice as long each time... */
  writeRetryFirstMs: number
  /** ...up to this. */
  writeRetryMostMs: number
}

export class RunResults {
  private readonly queue: Action[] = []
  private flushing: Promise<void> | null = null
  /** Starts and exits reported and not logged yet, with what leads to them (a spawn, a stderr read). */
  private readonly inProgress = new Set<Promise<unknown>>()

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly options: RunResultsOptions,
    /** Called for each start or exit once it is logged. */
    private readonly onLogged: (action: Action) => void,
    /** Called when the queue is empty again: something may be startable now. */
    private readonly onFlushed: () => void,
  ) {}

  /** Reported but not logged yet (while the store refuses writes). */
  get size(): number {
    return this.queue.length
  }

  /** Whether any start or exit is still on its way. */
  get busy(): boolean {
    return this.inProgress.size > 0
  }

  /** Resolves when some work in progress settles, or after `ms`. */
  settledOrAfter(ms: number): Promise<unknown> {
    return Promise.race([...this.inProgress, new Promise((resolve) => setTimeout(resolve, ms))])
  }

  /** Keep count of work that ends in a start or an exit (for shutdown to wait on); it never rejects. */
  track(work: Promise<unknown>): void {
    const done = work.catch((error) => process.emitWarning(`recording a run failed: ${String(error)}`))
    this.inProgress.add(done)
    void done.finally(() => this.inProgress.delete(done))
  }

  /**
   * Queue a start or an exit. Those that arrive together are logged together, once the current turn
   * is over. A failed write leaves them queued and is tried again after 100 ms, then twice as long
   * each time up to 5 s, until it lands: nothing is dropped, and the promise settles only then.
   */
  record(action: Action): Promise<void> {
    this.queue.push(action)
    this.flushing ??= this.flushUntilLogged()
    return this.flushing
  }

  private async flushUntilLogged(): Promise<void> {
    let wait = this.options.writeRetryFirstMs
    await new Promise((resolve) => setImmediate(resolve))
    // No await between the last look at the queue and clearing `flushing`: a result recorded later
    // starts a new flush.
    while (this.queue.length > 0) {
      try {
        await this.dispatcher.serial(() => this.drain())
      } catch {
        await new Promise((resolve) => setTimeout(resolve, wait))
        wait = Math.min(wait * 2, this.options.writeRetryMostMs)
      }
    }
    this.flushing = null
    this.onFlushed()
  }

  /**
   * Log every queued start and exit, oldest first (a run's start before its exit, whatever order they
   * were reported in). Each round that is written leaves the queue; a failed write throws with the
   * rest still queued and nothing of them applied. Only call from inside the dispatcher's `serial`.
   */
  async drain(): Promise<void> {
    if (this.queue.length === 0) return
    // What is queued now, starts first; what arrives while it is written waits for the next round.
    // A start nobody wants any more (its task stopped or removed while the launcher started it) is
    // the core's to end: deciding the start, it ends the run at once.
    const batch = [...this.queue.filter((a) => a.type === 'started'), ...this.queue.filter((a) => a.type !== 'started')]
    const taken = new Set(batch)
    try {
      await this.dispatcher.handleAll(batch)
    } finally {
      const left = new Set(batch)
      const logged = [...taken].filter((action) => !left.has(action))
      const done = new Set(logged)
      const kept = this.queue.filter((action) => !done.has(action))
      this.queue.splice(0, this.queue.length, ...kept)
      for (const action of logged) this.onLogged(action)
    }
  }
}
