// The seq high-water mark kept outside LevelDB, so that a damaged or restored database never reuses a seq.
import { open, readFile, rename } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** Seqs reserved ahead at a time: one small synced file write per this many events. */
export const RESERVE_BLOCK = 10_000

export interface ReservationRead {
  /** The highest seq reserved so far, or null when the file is missing or unreadable. */
  reserved: number | null
  /** Why `reserved` is null, when that is not simply a new home (no file yet). */
  problem: string | null
}

/**
 * The file holds `{"reserved":N}`: no seq up to N may be given again. It is written before LevelDB ever
 * holds a seq past the previous N, so it stays ahead of everything acknowledged, whatever becomes of
 * the database (a truncated write-ahead log, a restored backup).
 */
export class SeqReservation {
  /** Writes one after another: two commits never race on the temporary file. */
  private writing: Promise<unknown> = Promise.resolve()

  constructor(readonly path: string) {}

  /** The file beside a database folder: `home/db` -> `home/db.seq`. */
  static beside(dbDir: string): SeqReservation {
    return new SeqReservation(join(dirname(dbDir), `${basename(dbDir)}.seq`))
  }

  async read(): Promise<ReservationRead> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (error) {
      const code = (error as { code?: string }).code
      if (code === 'ENOENT') return { reserved: null, problem: null }
      return { reserved: null, problem: `${this.path} cannot be read (${code ?? String(error)})` }
    }
    let reserved: unknown
    try {
      reserved = (JSON.parse(text) as { reserved?: unknown } | null)?.reserved
    } catch {
      reserved = undefined
    }
    if (typeof reserved !== 'number' || !Number.isSafeInteger(reserved) || reserved < 0) {
      return { reserved: null, problem: `${this.path}: expected {"reserved": a whole number}, got ${JSON.stringify(text.slice(0, 40))}` }
    }
    return { reserved, problem: null }
  }

  /** Durably record `reserved`: written to a temporary file, synced, renamed over, the folder synced. */
  write(reserved: number): Promise<void> {
    const done = this.writing.then(() => this.writeNow(reserved))
    this.writing = done.catch(() => undefined)
    return done
  }

  private async writeNow(reserved: number): Promise<void> {
    const temp = `${this.path}.tmp`
    const file = await open(temp, 'w', 0o600)
    try {
      await file.writeFile(`${JSON.stringify({ reserved })}\n`)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temp, this.path)
    // The rename itself must reach the disk too, or a power loss could bring back the old file.
    const folder = await open(dirname(this.path), 'r')
    try {
      await folder.sync()
    } finally {
      await folder.close()
    }
  }
}
