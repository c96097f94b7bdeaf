// A throwaway PostgreSQL server for tests: Debian's PostgreSQL 15 binaries, a cluster in a temporary
// folder, on a free loopback port. PostgreSQL refuses to run as root, so a root test runs it as the
// `postgres` account (its folder handed to it); the cluster is stopped and its folder removed after.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chown } from 'node:fs/promises'
import { freePort } from './free-port.js'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { tempDir } from './temp-dir.js'

const run = promisify(execFile)
export const PG_BIN = '/usr/lib/postgresql/15/bin'

/** Why PostgreSQL tests cannot run here, or false. */
export const pgMissing: string | false = existsSync(join(PG_BIN, 'initdb')) ? false : `PostgreSQL 15 is not installed under ${PG_BIN} (.ci/run installs Debian's postgresql-15)`

export interface TestPostgres {
  /** `postgres://supervisor@127.0.0.1:PORT/DB` for a database of its own. */
  url(database?: string): string
  /** A fresh, empty database; its URL. */
  createDatabase(): Promise<string>
  /** Stop the server (an outage: connections are cut), keeping its data; `resume` starts it again. */
  pause(): Promise<void>
  resume(): Promise<void>
  stop(): Promise<void>
}

/** `durable`: fsync and synchronous commits on, as in production (benchmarks); tests go without. */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<TestPostgres> {
  const dir = await tempDir('supervisor-pg-')
  const root = process.getuid?.() === 0
  // As root, the server runs as `postgres`: its folder is handed to it, and its commands run through runuser.
  const as = async (file: string, args: string[]): Promise<void> => {
    const command = root ? ['runuser', ['-u', 'postgres', '--', file, ...args]] as const : [file, args] as const
    await run(command[0], [...command[1]], { timeout: 60_000 })
  }
  if (root) {
    const { uid, gid } = await run('id', ['-u', 'postgres']).then(async (u) => ({ uid: Number(u.stdout), gid: Number((await run('id', ['-g', 'postgres'])).stdout) }))
    await chown(dir.path, uid, gid)
  }
  const data = join(dir.path, 'data')
  const port = await freePort()
  await as(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'supervisor', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const speed = options.durable === true ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off'
  const start = (): Promise<void> => as(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(dir.path, 'log'), '-w', '-o',
    `-p ${port} -k ${dir.path} -c listen_addresses=127.0.0.1${speed}`, 'start'])
  await start()
  let next = 1
  const url = (database = 'postgres'): string => `postgres://supervisor@127.0.0.1:${port}/${database}`
  return {
    url,
    async createDatabase() {
      const name = `t${next++}`
      await run(join(PG_BIN, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'supervisor', '-d', 'postgres', '-qc', `CREATE DATABASE ${name}`])
      return url(name)
    },
    async pause() {
      await as(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'])
    },
    resume: start,
    async stop() {
      await as(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined)
      await dir.remove()
    },
  }
}
