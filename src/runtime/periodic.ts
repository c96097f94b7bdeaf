// A slow async job the tick starts at most every so often, never two at once.

export class Periodic {
  private last = -Infinity
  private busy = false
  constructor(private readonly what: string) {}

  owed(now: number, everyMs: number): boolean {
    return !this.busy && now - this.last >= everyMs
  }

  maybe(now: number, everyMs: number, job: () => Promise<void>): void {
    if (!this.owed(now, everyMs)) return
    this.busy = true
    this.last = now
    job()
      .catch((error) => process.emitWarning(`${this.what} failed: ${String(error)}`))
      .finally(() => (this.busy = false))
  }
}
