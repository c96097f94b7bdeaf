// The PostgreSQL store: the same records and event texts as the LevelDB store (codec.ts), in tables;
// one transaction per commit. One writer for now (a single daemon): cluster mode, with several daemons
// writing one log, needs a gap-free read order and claims, which this does not yet provide.
import pg from 'pg'
import { DomainError } from '../core/errors.js'
import { countFailure, type ErrorGroup } from '../core/failures.js'
import type { TaskEvent, TaskSpec } from '../core/types.js'
import { eventText, recordText } from './codec.js'
import { SCHEMA_VERSION, upgradeEvent, upgradeTask } from './schema.js'
import type { HistoryQuery, Store, StoredTask, TokenRecord } from './store.js'

/** The database schema's versions, applied in order on open; a database newer than this release is refused. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE supervisor_meta (key text PRIMARY KEY, value jsonb NOT NULL);
   CREATE TABLE supervisor_events (seq bigint PRIMARY KEY, task text NOT NULL, body text NOT NULL);
   CREATE INDEX supervisor_events_task ON supervisor_events (task, seq);
   CREATE TABLE supervisor_tasks (name text PRIMARY KEY, record text NOT NULL);
   CREATE TABLE supervisor_errors (key text PRIMARY KEY, grp text NOT NULL);
   CREATE TABLE supervisor_tokens (id text PRIMARY KEY, record text NOT NULL);
   CREATE TABLE supervisor_values (key text PRIMARY KEY, value text NOT NULL)`,
]

type Json = Record<string, unknown>

// JSON as text, not jsonb: PostgreSQL refuses NUL (U+0000) in jsonb and in text, and a run's stderr may
// hold one; JSON text escapes it. Keys that hold one (error groups' keys) are stored as JSON strings.
const keyText = (key: string): string => JSON.stringify(key)

/** Advisory lock keys: the schema's migrations, and the one daemon a database. */
const MIGRATION_LOCK = 727001
const ONE_DAEMON_LOCK = 727002

/** Rows at most in one INSERT: PostgreSQL takes 65535 parameters a statement. */
const ROWS_PER_INSERT = 10_000

export class PgStore implements Store {
  private seq = 0
  private readonly errorGroups = new Map<string, ErrorGroup>()
  /** Commits one at a time, in order, as the LevelDB store's batches are. */
  private tail: Promise<unknown> = Promise.resolve()

  private constructor(
    private readonly pool: pg.Pool,
    /** The connection that holds the one-daemon lock for as long as the store is open. */
    private readonly lock: pg.PoolClient,
  ) {}

  /** Connect, migrate the schema to this release's, and read the log's position and the error groups. */
  static async open(url: string): Promise<PgStore> {
    const pool = new pg.Pool({ connectionString: url, max: 4 })
    pool.on('error', () => undefined) // an idle client's error surfaces on the next query
    let lock: pg.PoolClient | null = null
    try {
      await migrate(pool)
      // One daemon a database, until cluster mode: a second one would write the same seqs.
      lock = await pool.connect()
      const held = (await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [ONE_DAEMON_LOCK])).rows[0]?.ok === true
      if (!held) throw new DomainError('conflict', `another daemon is already using ${redact(url)} (one daemon a database: several are not supported yet)`)
      const store = new PgStore(pool, lock)
      const last = await pool.query<{ seq: string | null }>(`SELECT GREATEST((SELECT max(seq) FROM supervisor_events), (SELECT (value->>'value')::bigint FROM supervisor_meta WHERE key = 'seq')) AS seq`)
      store.seq = Number(last.rows[0]?.seq ?? 0)
      for (const row of (await pool.query<{ key: string; grp: string }>('SELECT key, grp FROM supervisor_errors')).rows) {
        store.errorGroups.set(JSON.parse(row.key) as string, JSON.parse(row.grp) as ErrorGroup)
      }
      return store
    } catch (error) {
      lock?.release()
      await pool.end().catch(() => undefined)
      if (error instanceof DomainError) throw error
      throw new DomainError('internal', `store: ${redact(url)}: ${(error as Error).message}`, { cause: error })
    }
  }

  get lastSeq(): number {
    return this.seq
  }

  async forEachTask(visit: (task: StoredTask) => void): Promise<void> {
    for (const task of await this.loadTasks()) visit(task)
  }

  async loadTasks(): Promise<StoredTask[]> {
    const rows = (await this.pool.query<{ record: string }>('SELECT record FROM supervisor_tasks ORDER BY name')).rows
    return rows.map((row) => upgradeTask(JSON.parse(row.record) as Json).task)
  }

  commit(events: TaskEvent[], tasks: StoredTask[], removed: string[]): Promise<void> {
    if (events.length === 0 && tasks.length === 0 && removed.length === 0) return Promise.resolve()
    const done = this.tail.then(() => this.commitNow(events, tasks, removed))
    this.tail = done.catch(() => undefined)
    return done
  }

  private async commitNow(events: TaskEvent[], tasks: StoredTask[], removed: string[]): Promise<void> {
    const changed = new Map<string, ErrorGroup>()
    const groups = { get: (key: string) => changed.get(key) ?? this.errorGroups.get(key), set: (key: string, group: ErrorGroup) => changed.set(key, group) }
    const specs = new Map<TaskSpec, string>()
    const eventRows: [number, string, string][] = []
    let seq = this.seq
    for (const event of events) {
      eventRows.push([event.seq, event.task, eventText(SCHEMA_VERSION, event, (spec, text) => void specs.set(spec, text))])
      seq = Math.max(seq, event.seq)
      countFailure(groups, event)
    }
    const taskRows = tasks.map((task) => [task.spec.name, recordText(SCHEMA_VERSION, task, specs.get(task.spec))] as [string, string])
    await this.transaction(async (client) => {
      for (const rows of chunks(eventRows)) {
        await client.query(`INSERT INTO supervisor_events (seq, task, body) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])`,
          [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])])
      }
      for (const rows of chunks(taskRows)) {
        await client.query(`INSERT INTO supervisor_tasks (name, record) SELECT * FROM unnest($1::text[], $2::text[])
          ON CONFLICT (name) DO UPDATE SET record = EXCLUDED.record`, [rows.map((r) => r[0]), rows.map((r) => r[1])])
      }
      if (removed.length > 0) await client.query('DELETE FROM supervisor_tasks WHERE name = ANY($1::text[])', [removed])
      for (const [key, group] of changed) {
        await client.query('INSERT INTO supervisor_errors (key, grp) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET grp = EXCLUDED.grp', [keyText(key), JSON.stringify(group)])
      }
      await client.query(`INSERT INTO supervisor_meta (key, value) VALUES ('seq', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [{ value: seq }])
    })
    this.seq = seq
    for (const [key, group] of changed) this.errorGroups.set(key, group)
  }

  async history(query: HistoryQuery): Promise<TaskEvent[]> {
    const rows = query.task === undefined
      ? (await this.pool.query<{ body: string }>('SELECT body FROM supervisor_events ORDER BY seq DESC LIMIT $1', [query.limit])).rows
      : (await this.pool.query<{ body: string }>('SELECT body FROM supervisor_events WHERE task = $1 ORDER BY seq DESC LIMIT $2', [query.task, query.limit])).rows
    return rows.reverse().map((row) => upgradeEvent(JSON.parse(row.body) as Json))
  }

  async eventsAfter(after: number, limit: number): Promise<TaskEvent[]> {
    const rows = (await this.pool.query<{ body: string }>('SELECT body FROM supervisor_events WHERE seq > $1 ORDER BY seq LIMIT $2', [after, limit])).rows
    return rows.map((row) => upgradeEvent(JSON.parse(row.body) as Json))
  }

  async firstSeq(): Promise<number> {
    const first = (await this.pool.query<{ seq: string | null }>('SELECT min(seq) AS seq FROM supervisor_events')).rows[0]?.seq ?? null
    return first === null ? this.seq + 1 : Number(first)
  }

  async compact(keep: number, chunk: number): Promise<number> {
    const result = await this.pool.query(`DELETE FROM supervisor_events WHERE seq IN (
      SELECT seq FROM supervisor_events ORDER BY seq LIMIT GREATEST(0, LEAST($2::bigint, (SELECT count(*) FROM supervisor_events) - $1::bigint)))`, [keep, chunk])
    return result.rowCount ?? 0
  }

  /** Error groups as another store counted them (a migration: older events may be gone from its log). */
  async replaceErrors(groups: ReadonlyMap<string, ErrorGroup>): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('DELETE FROM supervisor_errors')
      for (const [key, group] of groups) await client.query('INSERT INTO supervisor_errors (key, grp) VALUES ($1, $2)', [keyText(key), JSON.stringify(group)])
    })
    this.errorGroups.clear()
    for (const [key, group] of groups) this.errorGroups.set(key, group)
  }

  async errors(): Promise<ErrorGroup[]> {
    return [...this.errorGroups.values()]
  }

  async tokens(): Promise<TokenRecord[]> {
    return (await this.pool.query<{ record: string }>('SELECT record FROM supervisor_tokens ORDER BY id')).rows.map((row) => JSON.parse(row.record) as TokenRecord)
  }

  async putToken(token: TokenRecord): Promise<void> {
    await this.pool.query('INSERT INTO supervisor_tokens (id, record) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record', [token.id, JSON.stringify(token)])
  }

  async deleteToken(id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM supervisor_tokens WHERE id = $1', [id])).rowCount ?? 0) > 0
  }

  async getValue(key: string): Promise<unknown> {
    const row = (await this.pool.query<{ value: string }>('SELECT value FROM supervisor_values WHERE key = $1', [key])).rows[0]
    return row === undefined ? null : JSON.parse(row.value)
  }

  async putValue(key: string, value: unknown): Promise<void> {
    await this.pool.query('INSERT INTO supervisor_values (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, JSON.stringify(value)])
  }

  async close(): Promise<void> {
    await this.tail
    await this.lock.query('SELECT pg_advisory_unlock($1)', [ONE_DAEMON_LOCK]).catch(() => undefined)
    this.lock.release()
    await this.pool.end()
  }

  private async transaction(body: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      await body(client)
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      client.release()
    }
  }
}

/** Apply the migrations this database has not had, each in its own transaction; refuse a newer one. */
async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect()
  try {
    // One daemon migrates at a time (an advisory lock for the schema's own key).
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    await client.query('CREATE TABLE IF NOT EXISTS supervisor_schema (version integer NOT NULL)')
    const found = (await client.query<{ version: number }>('SELECT max(version) AS version FROM supervisor_schema')).rows[0]?.version ?? 0
    if (found > MIGRATIONS.length) {
      throw new Error(`the database's schema is version ${found}, newer than this release's (${MIGRATIONS.length}): upgrade the supervisor`)
    }
    for (let version = found + 1; version <= MIGRATIONS.length; version += 1) {
      await client.query('BEGIN')
      await client.query(MIGRATIONS[version - 1] as string)
      await client.query('INSERT INTO supervisor_schema (version) VALUES ($1)', [version])
      await client.query('COMMIT')
    }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined)
    client.release()
  }
}

function* chunks<T>(rows: readonly T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) yield rows.slice(i, i + ROWS_PER_INSERT)
}

/** A connection string as messages show it: never its password. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(the store URL)'
  }
}

