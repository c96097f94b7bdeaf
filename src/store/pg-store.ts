// The PostgreSQL store: the same records and event texts as the LevelDB store (codec.ts), in tables;
// one transaction per commit. Several daemons (the nodes of a cluster) share it: each commit takes the
// log's head row (`FOR UPDATE`), checks that the head is still the seq its writer decided on, and
// writes the next seqs: one total order, with no gaps a reader could skip (seq N+1 is only written
// once N is committed), and a writer that decided on an older log is told (`LogConflict`) to re-read.
import pg from 'pg'
import { DomainError } from '../core/errors.js'
import { countFailure, type ErrorGroup } from '../core/failures.js'
import type { TaskEvent, TaskSpec } from '../core/types.js'
import { eventText, recordText } from './codec.js'
import { SCHEMA_VERSION, upgradeEvent, upgradeTask } from './schema.js'
import { LogConflict, type HistoryQuery, type NodeRow, type SharedLog, type Store, type StoredTask, type TokenRecord } from './store.js'

/** The database schema's versions, applied in order on open; a database newer than this release is refused. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE supervisor_meta (key text PRIMARY KEY, value jsonb NOT NULL);
   CREATE TABLE supervisor_events (seq bigint PRIMARY KEY, task text NOT NULL, body text NOT NULL);
   CREATE INDEX supervisor_events_task ON supervisor_events (task, seq);
   CREATE TABLE supervisor_tasks (name text PRIMARY KEY, record text NOT NULL);
   CREATE TABLE supervisor_errors (key text PRIMARY KEY, grp text NOT NULL);
   CREATE TABLE supervisor_tokens (id text PRIMARY KEY, record text NOT NULL);
   CREATE TABLE supervisor_values (key text PRIMARY KEY, value text NOT NULL)`,
  // 2: the nodes of a cluster; the log's head row always there (commits lock it).
  `CREATE TABLE supervisor_nodes (name text PRIMARY KEY, epoch bigint NOT NULL, state text NOT NULL,
     started timestamptz NOT NULL, last_seen timestamptz NOT NULL, info text NOT NULL);
   INSERT INTO supervisor_meta (key, value) SELECT 'seq', jsonb_build_object('value', COALESCE((SELECT max(seq) FROM supervisor_events), 0))
     ON CONFLICT (key) DO NOTHING`,
]

type Json = Record<string, unknown>

// JSON as text, not jsonb: PostgreSQL refuses NUL (U+0000) in jsonb and in text, and a run's stderr may
// hold one; JSON text escapes it. Keys that hold one (error groups' keys) are stored as JSON strings.
const keyText = (key: string): string => JSON.stringify(key)

/** Advisory lock keys: the schema's migrations; a node's name (with the name's hash as second key). */
const MIGRATION_LOCK = 727001
const NODE_NAME_LOCK = 727003
const LEAD_LOCK = 727004

/** The channel each commit notifies with its head seq: the other nodes read the log on from theirs. */
const CHANNEL = 'supervisor_log'

/** The log's head: the seq of the last event committed (one row, always there since migration 2). */
const HEAD = `SELECT (value->>'value')::bigint AS seq FROM supervisor_meta WHERE key = 'seq'`

/** Rows at most in one INSERT: PostgreSQL takes 65535 parameters a statement. */
const ROWS_PER_INSERT = 10_000

export interface PgStoreOptions {
  /** This daemon's node name: held (an advisory lock on its own connection) for as long as the store is open. */
  node?: string
}

export class PgStore implements Store, SharedLog {
  readonly shared = true
  private seq = 0
  /** Commits one at a time, in order, as the LevelDB store's batches are. */
  private tail: Promise<unknown> = Promise.resolve()
  private listener: pg.Client | null = null
  private readonly advanceListeners = new Set<(head: number) => void>()
  private closed = false
  private leading = false
  /**
   * Told when the database, back after an outage, let another daemon take this node's name before this
   * one could take it again: two daemons must not share a name, so this one has to stop.
   */
  onNameLost: (problem: string) => void = () => undefined

  private constructor(
    private readonly pool: pg.Pool,
    /** The connection that holds the node name's lock for as long as the store is open. */
    private lock: pg.PoolClient,
    private readonly url: string,
    private readonly node: string | undefined,
  ) {
    this.watchLock(lock)
  }

  /**
   * The connection holding the name can be cut (the database restarted: its locks are gone too). Its
   * error must not crash the daemon; the name is taken again on a new connection as soon as the
   * database answers, and the lead given up meanwhile.
   */
  private watchLock(client: pg.PoolClient): void {
    client.on('error', () => {
      if (this.lock !== client || this.closed) return
      this.leading = false
      void this.relock(client)
    })
  }

  private async relock(broken: pg.PoolClient): Promise<void> {
    broken.release(true)
    while (!this.closed) {
      let client: pg.PoolClient | null = null
      try {
        client = await this.pool.connect()
        client.on('error', () => undefined)
        if (this.node !== undefined && !(await takeName(client, this.node))) {
          client.release()
          this.onNameLost(`node "${this.node}" was taken by another daemon while ${redact(this.url)} was out of reach`)
          return
        }
        client.removeAllListeners('error')
        this.lock = client
        this.watchLock(client)
        return
      } catch {
        client?.release(true)
        await new Promise((resolve) => setTimeout(resolve, 1000).unref())
      }
    }
  }

  /**
   * Connect, migrate the schema to this release's, take the node's name (a second live daemon of that
   * name is refused), and read the log's position.
   */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const pool = new pg.Pool({ connectionString: url, max: 4 })
    pool.on('error', () => undefined) // an idle client's error surfaces on the next query
    let lock: pg.PoolClient | null = null
    try {
      await migrate(pool)
      lock = await pool.connect()
      lock.on('error', () => undefined) // cut before the store watches it: the next query fails instead
      // Held by this connection: a daemon that dies loses it with its connection, so a restarted one takes over at once.
      if (options.node !== undefined && !(await takeName(lock, options.node))) {
        throw new DomainError('conflict', `node "${options.node}" is already running on ${redact(url)} (another live daemon has that name: give this one another with --node)`)
      }
      const store = new PgStore(pool, lock, url, options.node)
      store.seq = await store.head()
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

  /** The events up to `seq` were read and applied by this daemon (it follows the log other nodes write). */
  advanceTo(seq: number): void {
    this.seq = Math.max(this.seq, seq)
  }

  /** The log's head: the seq of the last event committed by any node. */
  async head(): Promise<number> {
    const row = (await this.pool.query<{ seq: string | null }>(HEAD)).rows[0]
    return Number(row?.seq ?? 0)
  }

  /** Called whenever another node (or this one) commits: LISTEN on the log's channel, from a connection of its own. */
  async onAdvance(listener: (head: number) => void): Promise<void> {
    this.advanceListeners.add(listener)
    if (this.listener === null) await this.listen()
  }

  /** LISTEN on a connection of its own; cut, it listens again a second later, until the store closes. */
  private async listen(): Promise<void> {
    if (this.closed) return
    const client = new pg.Client({ connectionString: this.url })
    let again = false
    const retry = (): void => {
      // Meanwhile the daemon's periodic read of the head still follows the log.
      if (this.listener === client) this.listener = null
      if (again || this.closed) return
      again = true
      setTimeout(() => void this.listen().catch(() => undefined), 1000).unref()
    }
    client.on('error', retry)
    client.on('end', retry)
    client.on('notification', (message) => {
      const head = Number(message.payload ?? Number.NaN)
      for (const wake of this.advanceListeners) wake(Number.isFinite(head) ? head : Number.MAX_SAFE_INTEGER)
    })
    this.listener = client
    try {
      await client.connect()
      await client.query(`LISTEN ${CHANNEL}`)
    } catch (error) {
      retry()
      await client.end().catch(() => undefined)
      throw error
    }
  }

  /**
   * Every task record, and the head they stand at, from one snapshot: a node boots from the records
   * and then reads the log on from that head, so no event is applied twice or missed.
   */
  async forEachTask(visit: (task: StoredTask) => void): Promise<void> {
    const client = await checkout(this.pool)
    let rows: { record: string }[]
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      const head = (await client.query<{ seq: string | null }>(HEAD)).rows[0]
      rows = (await client.query<{ record: string }>('SELECT record FROM supervisor_tasks ORDER BY name')).rows
      await client.query('COMMIT')
      this.seq = Number(head?.seq ?? 0)
      client.done()
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      client.done(error)
      throw error
    }
    for (const row of rows) visit(upgradeTask(JSON.parse(row.record) as Json).task)
  }

  async loadTasks(): Promise<StoredTask[]> {
    const rows = (await this.pool.query<{ record: string }>('SELECT record FROM supervisor_tasks ORDER BY name')).rows
    return rows.map((row) => upgradeTask(JSON.parse(row.record) as Json).task)
  }

  /**
   * One transaction. `expected`: the seq the writer's state stands at; if another node committed since,
   * nothing is written and `LogConflict` is thrown (the writer reads the log on and decides again).
   */
  commit(events: TaskEvent[], tasks: StoredTask[], removed: string[], expected?: number): Promise<void> {
    if (events.length === 0 && tasks.length === 0 && removed.length === 0) return Promise.resolve()
    const done = this.tail.then(() => this.commitNow(events, tasks, removed, expected))
    this.tail = done.catch(() => undefined)
    return done
  }

  private async commitNow(events: TaskEvent[], tasks: StoredTask[], removed: string[], expected: number | undefined): Promise<void> {
    // The failure groups these events count into, read inside the transaction (other nodes count too).
    const touched = new Set<string>()
    const probe = { get: (): undefined => undefined, set: (key: string) => touched.add(key) }
    for (const event of events) countFailure(probe, event)
    const changed = new Map<string, ErrorGroup>()
    const current = new Map<string, ErrorGroup>()
    const groups = { get: (key: string) => changed.get(key) ?? current.get(key), set: (key: string, group: ErrorGroup) => changed.set(key, group) }
    const specs = new Map<TaskSpec, string>()
    const eventRows: [number, string, string][] = []
    let seq = this.seq
    for (const event of events) {
      eventRows.push([event.seq, event.task, eventText(SCHEMA_VERSION, event, (spec, text) => void specs.set(spec, text))])
      seq = Math.max(seq, event.seq)
    }
    const taskRows = tasks.map((task) => [task.spec.name, recordText(SCHEMA_VERSION, task, specs.get(task.spec))] as [string, string])
    await this.transaction(async (client) => {
      // The head row, locked until commit: writers take turns, each after the one before it committed.
      const head = Number((await client.query<{ seq: string }>(`${HEAD} FOR UPDATE`)).rows[0]?.seq ?? 0)
      if (expected !== undefined && head !== expected) throw new LogConflict(expected, head)
      if (events.length > 0 && (events[0] as TaskEvent).seq <= head) throw new LogConflict(expected ?? head, head)
      if (touched.size > 0) {
        const keys = [...touched].map(keyText)
        for (const row of (await client.query<{ key: string; grp: string }>('SELECT key, grp FROM supervisor_errors WHERE key = ANY($1::text[])', [keys])).rows) {
          current.set(JSON.parse(row.key) as string, JSON.parse(row.grp) as ErrorGroup)
        }
        for (const event of events) countFailure(groups, event)
      }
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
      if (seq > head) {
        await client.query(`UPDATE supervisor_meta SET value = $1 WHERE key = 'seq'`, [{ value: seq }])
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, String(seq)])
      }
    })
    this.seq = Math.max(this.seq, seq)
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
  }

  async errors(): Promise<ErrorGroup[]> {
    return (await this.pool.query<{ grp: string }>('SELECT grp FROM supervisor_errors ORDER BY key')).rows.map((row) => JSON.parse(row.grp) as ErrorGroup)
  }

  /**
   * Whether this daemon holds the cluster's lead (one node at a time: webhook deliveries): an advisory
   * lock on its own connection, taken if free, lost only with the daemon.
   */
  async tryLead(): Promise<boolean> {
    if (this.leading) return true
    this.leading = (await this.lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LEAD_LOCK])).rows[0]?.ok === true
    return this.leading
  }

  /** This node joins (or, restarted, takes over its name): a new epoch, alive; returns the epoch. */
  async registerNode(name: string, info: unknown): Promise<number> {
    const row = (await this.pool.query<{ epoch: string }>(`INSERT INTO supervisor_nodes (name, epoch, state, started, last_seen, info)
      VALUES ($1, 1, 'alive', now(), now(), $2)
      ON CONFLICT (name) DO UPDATE SET epoch = supervisor_nodes.epoch + 1, state = 'alive', started = now(), last_seen = now(), info = EXCLUDED.info
      RETURNING epoch`, [name, JSON.stringify(info)])).rows[0]
    return Number(row?.epoch ?? 0)
  }

  /** This node is alive: false if it was declared lost meanwhile (its row no longer says this epoch is alive). */
  async heartbeat(name: string, epoch: number, info: unknown): Promise<boolean> {
    const result = await this.pool.query(`UPDATE supervisor_nodes SET last_seen = now(), info = $3 WHERE name = $1 AND epoch = $2 AND state = 'alive'`,
      [name, epoch, JSON.stringify(info)])
    return (result.rowCount ?? 0) > 0
  }

  /**
   * Nodes silent for longer than `timeoutMs` (by the database's clock, so no two hosts' clocks are
   * compared) are marked lost; returns every lost node with how long it has been silent.
   */
  async lostNodes(timeoutMs: number): Promise<{ name: string; silentMs: number }[]> {
    await this.pool.query(`UPDATE supervisor_nodes SET state = 'lost' WHERE state = 'alive' AND last_seen < now() - make_interval(secs => $1::double precision / 1000)`, [timeoutMs])
    return (await this.pool.query<{ name: string; silent: string }>(`SELECT name, (extract(epoch FROM now() - last_seen) * 1000)::bigint AS silent FROM supervisor_nodes WHERE state = 'lost'`))
      .rows.map((row) => ({ name: row.name, silentMs: Number(row.silent) }))
  }

  async nodes(): Promise<NodeRow[]> {
    const rows = (await this.pool.query<{ name: string; epoch: string; state: string; started: Date; last_seen: Date; info: string; silent: string }>(
      `SELECT name, epoch, state, started, last_seen, info, (extract(epoch FROM now() - last_seen) * 1000)::bigint AS silent FROM supervisor_nodes ORDER BY name`)).rows
    return rows.map((row) => ({
      name: row.name, state: row.state === 'alive' ? 'alive' : 'lost', epoch: Number(row.epoch), startedAt: row.started.toISOString(),
      lastSeen: row.last_seen.toISOString(), silentMs: Number(row.silent), info: JSON.parse(row.info) as Record<string, unknown>,
    }))
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
    this.closed = true
    await this.tail
    const listener = this.listener
    this.listener = null
    await listener?.end().catch(() => undefined)
    // The node's name and the lead go now, not when the server notices the connection closed.
    await this.lock.query('SELECT pg_advisory_unlock_all()').catch(() => undefined)
    try {
      this.lock.release()
    } catch {
      // Released already: it broke, and no new one was taken before the close.
    }
    await this.pool.end()
  }

  private async transaction(body: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await checkout(this.pool)
    try {
      await client.query('BEGIN')
      await body(client)
      await client.query('COMMIT')
      client.done()
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      client.done(error)
      throw error
    }
  }
}

/** Apply the migrations this database has not had, each in its own transaction; refuse a newer one. */
async function migrate(pool: pg.Pool): Promise<void> {
  const client = await checkout(pool)
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
    client.done()
  }
}

/** Take this node's name on a connection: false if a live daemon holds it. */
async function takeName(client: pg.PoolClient, node: string): Promise<boolean> {
  return (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [NODE_NAME_LOCK, node])).rows[0]?.ok === true
}

/**
 * A pooled connection for a few queries. One cut while checked out, between two queries, emits an
 * error that no query catches (it would crash the daemon): ignored here, the next query fails instead.
 * `done` gives it back, or throws it away after an error.
 */
async function checkout(pool: pg.Pool): Promise<pg.PoolClient & { done(error?: unknown): void }> {
  const client = await pool.connect()
  const ignore = (): void => undefined
  client.on('error', ignore)
  return Object.assign(client, {
    done(error?: unknown): void {
      client.off('error', ignore)
      client.release(error === undefined ? undefined : (error instanceof Error ? error : true))
    },
  })
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

