// The one scheduling interval: `tick` ms while anything can happen soon, one second while nothing can
// (a wake-up costs this machine about 0.2 ms of CPU, 40 a second add up to ~1 % of a core); switched
// back to `tick` before the next event is due and whenever work arrives.
export const SLOW_TICK_MS = 1000

export class Ticker {
  private handle: NodeJS.Timeout | null = null
  private period = 0

  constructor(
    private tickMs: number,
    /** Runs the tick; returns true if it may slow down (nothing due within a slow tick). */
    private readonly onTick: () => boolean,
  ) {}

  start(): void {
    this.arm(this.tickMs)
  }

  /** Back to full speed now (work arrived). */
  wake(): void {
    if (this.handle !== null) this.arm(this.tickMs)
  }

  /** A new period (a live reload), from now on. */
  setTick(tickMs: number): void {
    if (tickMs === this.tickMs) return
    this.tickMs = tickMs
    if (this.handle !== null) this.arm(tickMs)
  }

  stop(): void {
    if (this.handle !== null) clearInterval(this.handle)
    this.handle = null
  }

  private arm(period: number): void {
    if (period === this.period && this.handle !== null) return
    if (this.handle !== null) clearInterval(this.handle)
    this.period = period
    this.handle = setInterval(() => this.arm(this.onTick() ? Math.max(SLOW_TICK_MS, this.tickMs) : this.tickMs), period)
  }
}
