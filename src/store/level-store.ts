// The LevelDB store: event log, current task records and a per-task event index, one batch per change.
import { Level } from 'level'
import type { AbstractSublevel } from 'abstract-level'
import type { TaskEvent, TaskSpec } from '../core/types.js'
import { DomainError } from '../core/errors.js'
import { SCHEMA_VERSION, upgradeEvent, upgradeTask } from './schema.js'
import { eventText, recordText } from './codec.js'
import type { HistoryQuery, Store, StoredTask, TokenRecord } from './store.js'
import { countFailure, groupKey, type ErrorGroup } from '../core/failures.js'
import { checkBeforeOpen, openFailure } from './open-failure.js'
import { RESERVE_BLOCK, SeqReservation } from './seq-reservation.js'

type Json = Record<string, unknown>
type Sub = AbstractSublevel<Level<string, string>, string | Buffer | Uint8Array, string, Json>

const SEQ_WIDTH = 16
const seqKey = (seq: number): string => seq.toString().padStart(SEQ_WIDTH, '0')
// Task names never contain ':' (see the name rule), so `name:` is a prefix of that task's keys only.
const taskEventKey = (name: string, seq: number): string => `${name}:${seqKey(seq)}`
// Every write that acknowledges something waits for the disk: a power loss must not take it back.
const SYNCED = { sync: true }

export interface OpenOptions {
  /** Where the seq high-water mark lives (default: beside the folder, `db` -> `db.seq`). */
  reservation?: SeqReservation
  /** Told when the high-water mark cannot be used and the database's own last seq is taken instead. */
  warn?: (message: string) => void
}

export class LevelStore implements Store {
  private seq = 0
  /** No seq up to this one may be given again (the reservation file says so durably). */
  private reserved = 0
  /** Events kept: retention counts them, as seqs can jump (see `open`). */
  private eventCount = 0
  private readonly events: Sub
  private readonly tasks: Sub
  private readonly byTask: Sub
  private readonly meta: Sub
  private readonly errs: Sub
  private readonly toks: Sub
  /** Error groups are few (tasks x causes) and updated on every failure: kept in memory, written through. */
  private readonly errorGroups = new Map<string, ErrorGroup>()
  /**
   * Set when a write failed (a full disk): LevelDB's log may then end in a torn record, and a reopen
   * drops whatever follows one in its block, so a later write that "succeeded" would be lost on the
   * next start. The next write reopens the database first (recovering up to the tear, into a fresh log).
   */
  private torn = false

  /**
   * Reads go through sublevels with JSON values; `commit` writes their keys (`!ev!...`) and JSON text on
   * the root database itself, which costs a third of a sublevel put, on the path every change takes.
   */
  private constructor(
    private readonly db: Level<string, string>,
    private readonly reservation: SeqReservation,
  ) {
    const sub = (name: string): Sub => db.sublevel<string, Json>(name, { valueEncoding: 'json' })
    this.events = sub('ev')
    this.tasks = sub('task')
    this.byTask = sub('tev')
    this.meta = sub('meta')
    this.errs = sub('err')
    this.toks = sub('tok')
  }

  /**
   * Open (creating if needed) the database in `dir`; refuses if another process holds it, and names the
   * damaged or missing file if LevelDB cannot open it.
   */
  static async open(dir: string, options: OpenOptions = {}): Promise<LevelStore> {
    const warn = options.warn ?? ((message: string) => void process.stderr.write(`warning: ${message}\n`))
    // Before the constructor, which already starts opening the database.
    await checkBeforeOpen(dir)
    const db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    try {
      await db.open()
    } catch (error) {
      const locked = (error as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED'
      if (locked) throw new DomainError('conflict', `another daemon is already running on ${dir}`, { cause: error })
      throw await openFailure(dir, error)
    }
    const store = new LevelStore(db, options.reservation ?? SeqReservation.beside(dir))
    await store.readMeta(warn)
    for (const group of await store.errs.values().all()) {
      const { v: _v, ...rest } = group as unknown as ErrorGroup & { v?: number }
      store.errorGroups.set(groupKey(rest.task, rest.cause, rest.fingerprint), rest)
    }
    return store
  }

  get lastSeq(): number {
    return this.seq
  }

  private async readMeta(warn: (message: string) => void): Promise<void> {
    const seq = (await this.meta.get('seq')) as { value: number } | undefined
    const [last] = await this.events.keys({ reverse: true, limit: 1 }).all()
    // The meta seq and the newest event key are written in one batch; take the larger to be safe.
    const stored = Math.max(seq?.value ?? 0, last === undefined ? 0 : Number(last))
    const count = (await this.meta.get('events')) as { value: number } | undefined
    // Databases written before the count was kept are counted once; commits keep it from then on.
    this.eventCount = count?.value ?? (await this.countEvents())
    // Lost writes (a truncated log, an older backup) can leave LevelDB behind seqs already handed out:
    // the reservation is past all of them. After a crash that loses nothing, seqs jump by at most a
    // block; a clean close writes the reservation down to the last seq, so a restart does not jump.
    const { reserved, problem } = await this.reservation.read()
    if (problem !== null || (reserved === null && stored > 0)) {
      const why = problem ?? `${this.reservation.path} is missing`
      warn(`${why}; seqs continue after the database's last seq ${stored}, so seqs of writes the database lost could be given again`)
    }
    this.reserved = reserved ?? stored
    this.seq = Math.max(stored, this.reserved)
  }

  private async countEvents(): Promise<number> {
    const keys = this.events.keys()
    let count = 0
    try {
      for (let page = await keys.nextv(1000); page.length > 0; page = await keys.nextv(1000)) count += page.length
    } finally {
      await keys.close()
    }
    return count
  }

  async loadTasks(): Promise<StoredTask[]> {
    const out: StoredTask[] = []
    await this.forEachTask((task) => out.push(task))
    return out
  }

  async forEachTask(visit: (task: StoredTask) => void): Promise<void> {
    const rewrites: { type: 'put'; key: string; value: string }[] = []
    // Raw text from the root database in pages of 1000 (an entry at a time costs more than the reading
    // itself); the next page is read on LevelDB's thread while this one is parsed on ours.
    const { prefix } = this.tasks
    const iterator = this.db.iterator({ gte: prefix, lt: prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1) })
    let pending = iterator.nextv(1000)
    try {
      for (let page = await pending; page.length > 0; page = await pending) {
        pending = iterator.nextv(1000)
        for (const [key, text] of page) {
          const { task, changed } = upgradeTask(JSON.parse(text) as Json)
          visit(task)
          if (changed) rewrites.push({ type: 'put', key, value: recordText(SCHEMA_VERSION, task) })
        }
      }
    } finally {
      await pending.catch(() => undefined)
      await iterator.close()
    }
    // Not synced: an upgrade a power loss takes back is done again at the next boot.
    if (rewrites.length > 0) await this.db.batch(rewrites)
    await this.meta.put('schema', { value: SCHEMA_VERSION })
  }

  /** Every write goes through here: after a failed one, the database is reopened before the next. */
  private async write<T>(job: () => Promise<T>): Promise<T> {
    try {
      if (this.torn) {
        await this.db.close()
        await this.db.open()
        this.torn = false
      }
      return await job()
    } catch (error) {
      this.torn = true
      throw error
    }
  }

  async commit(events: TaskEvent[], tasks: StoredTask[], removed: string[]): Promise<void> {
    if (events.length === 0 && tasks.length === 0 && removed.length === 0) return
    await this.write(() => this.commitBatch(events, tasks, removed))
  }

  private async commitBatch(events: TaskEvent[], tasks: StoredTask[], removed: string[]): Promise<void> {
    const batch = this.db.batch()
    const put = (sub: Sub, key: string, value: Json): void => void batch.put(sub.prefix + key, JSON.stringify(value))
    // The version goes in front of the record's own JSON text: no copy of the record to add it to.
    const putVersioned = (sub: Sub, key: string, value: object): void =>
      void batch.put(sub.prefix + key, `{"v":${SCHEMA_VERSION},${JSON.stringify(value).slice(1)}`)
    let seq = this.seq
    // The groups this batch changes, over the ones in memory: nothing changes there before the write,
    // and a commit costs the same with 10 groups as with 10,000.
    const changed = new Map<string, ErrorGroup>()
    const groups = { get: (key: string) => changed.get(key) ?? this.errorGroups.get(key), set: (key: string, group: ErrorGroup) => changed.set(key, group) }
    // A definition is encoded once for its event and its record.
    const specs = new Map<TaskSpec, string>()
    const keepSpec = (spec: TaskSpec, text: string): void => void specs.set(spec, text)
    const putRecord = (task: StoredTask, spec: string | undefined): void =>
      void batch.put(this.tasks.prefix + task.spec.name, recordText(SCHEMA_VERSION, task, spec))
    // Records come in the order of the events that made them: each is written as soon as the text of
    // its definition is made, so that text dies young instead of being kept (and copied by the
    // collector) until the last event of a 100k apply is encoded.
    let written = 0
    for (const event of events) {
      batch.put(this.events.prefix + seqKey(event.seq), eventText(SCHEMA_VERSION, event, keepSpec))
      batch.put(this.byTask.prefix + taskEventKey(event.task, event.seq), '{}')
      seq = Math.max(seq, event.seq)
      const group = countFailure(groups, event)
      if (group !== null) putVersioned(this.errs, groupKey(group.task, group.cause, group.fingerprint), group)
      for (let task = tasks[written]; task !== undefined && specs.has(task.spec); task = tasks[written]) {
        putRecord(task, specs.get(task.spec))
        specs.delete(task.spec)
        written += 1
      }
    }
    for (const task of tasks.slice(written)) putRecord(task, specs.get(task.spec))
    for (const name of removed) batch.del(this.tasks.prefix + name)
    put(this.meta, 'seq', { value: seq })
    put(this.meta, 'events', { value: this.eventCount + events.length })
    // The high-water mark moves ahead first: LevelDB never holds a seq the file does not cover.
    if (seq > this.reserved) {
      await this.reservation.write(seq + RESERVE_BLOCK)
      this.reserved = seq + RESERVE_BLOCK
    }
    await batch.write(SYNCED)
    this.seq = seq
    this.eventCount += events.length
    for (const [key, group] of changed) this.errorGroups.set(key, group)
  }

  async errors(): Promise<ErrorGroup[]> {
    return [...this.errorGroups.values()]
  }

  async tokens(): Promise<TokenRecord[]> {
    const values = await this.toks.values().all()
    return values.map((raw) => {
      const { v: _v, ...token } = raw
      return token as unknown as TokenRecord
    })
  }

  async putToken(token: TokenRecord): Promise<void> {
    // On the root database: a sublevel's put takes no `sync` option.
    await this.write(() => this.db.put(this.toks.prefix + token.id, JSON.stringify({ v: SCHEMA_VERSION, ...token }), SYNCED))
  }

  async deleteToken(id: string): Promise<boolean> {
    const existing = await this.toks.get(id)
    if (existing === undefined) return false
    await this.write(() => this.db.del(this.toks.prefix + id, SYNCED))
    return true
  }

  async getValue(key: string): Promise<unknown> {
    const found = await this.meta.get(`value:${key}`)
    return found === undefined ? null : (found as { value: unknown }).value
  }

  async putValue(key: string, value: unknown): Promise<void> {
    // In `meta`, apart from the store's own entries by the `value:` prefix.
    await this.write(() => this.db.put(`${this.meta.prefix}value:${key}`, JSON.stringify({ value }), SYNCED))
  }

  async history(query: HistoryQuery): Promise<TaskEvent[]> {
    if (query.task === undefined) {
      const values = await this.events.values({ reverse: true, limit: query.limit }).all()
      return values.reverse().map(upgradeEvent)
    }
    const prefix = `${query.task}:`
    const keys = await this.byTask.keys({ gte: prefix, lt: `${query.task};`, reverse: true, limit: query.limit }).all()
    const seqKeys = keys.reverse().map((key) => key.slice(prefix.length))
    const values = await this.events.getMany(seqKeys)
    return values.filter((v): v is Json => v !== undefined).map(upgradeEvent)
  }

  async firstSeq(): Promise<number> {
    const [first] = await this.events.keys({ limit: 1 }).all()
    return first === undefined ? this.seq + 1 : Number(first)
  }

  /**
   * Counted, not computed from seqs, which jump after a crash. Not synced: it acknowledges nothing, and
   * deletes a power loss takes back (with the count written beside them) are simply done again.
   */
  async compact(keep: number, chunk: number): Promise<number> {
    const excess = Math.min(chunk, this.eventCount - keep)
    if (excess <= 0) return 0
    const doomed = await this.events.iterator({ limit: excess }).all()
    await this.write(async () => {
      const batch = this.db.batch()
      for (const [key, event] of doomed) {
        batch.del(this.events.prefix + key)
        batch.del(this.byTask.prefix + taskEventKey(String(event['task']), Number(key)))
      }
      batch.put(this.meta.prefix + 'events', JSON.stringify({ value: this.eventCount - doomed.length }))
      await batch.write()
    })
    this.eventCount -= doomed.length
    return doomed.length
  }

  async eventsAfter(after: number, limit: number): Promise<TaskEvent[]> {
    const values = await this.events.values({ gt: seqKey(after), limit }).all()
    return values.map(upgradeEvent)
  }

  /** After a clean close nothing is lost, so the reservation comes down to the last seq: no jump at reopen. */
  async close(): Promise<void> {
    await this.db.close()
    if (this.reserved > this.seq) {
      await this.reservation.write(this.seq)
      this.reserved = this.seq
    }
  }
}
