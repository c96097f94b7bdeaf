// End to end: GET /metrics with real runs. A read token is required; the counts follow what ran; no
// label names a task; `promtool check metrics` is clean; a real Prometheus scrapes the daemon with a
// token and answers a query with the counts.
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { freePort } from '../helpers/free-port.js'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { daemonForSuite, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0

/** The value of one series in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('metrics', () => {
  const suite = daemonForSuite(['--max-concurrent', '2', '--min-free-memory', '0'])
  let token = ''
  let url = ''
  const scrape = (auth?: string): Promise<Response> => fetch(url, auth === undefined ? {} : { headers: { authorization: auth } })

  before(async () => {
    const { daemon } = suite
    url = `http://127.0.0.1:${daemon.port}/metrics`
    token = (await daemon.ctlJson<{ token: string }>(['token', 'create', '--scope', 'read', '--name', 'prometheus'])).token
    await daemon.add('fine', ['--script', fixture('ok.sh')])
    await daemon.add('broken', ['--script', fixture('fail.sh'), '--retries', '0'])
    await daemon.waitForType('task.succeeded', 'fine')
    await daemon.waitForType('task.failed', 'broken')
  })

  it('needs a read token as a Bearer header', async () => {
    assert.equal((await scrape()).status, 401)
    const wrong = await scrape('Bearer not-a-token')
    assert.equal(wrong.status, 401)
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Bearer/)
    const ok = await scrape(`Bearer ${token}`)
    assert.equal(ok.status, 200)
    assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  })

  it('counts what ran, by state and outcome, and names no task', async () => {
    const text = await (await scrape(`Bearer ${token}`)).text()
    assert.equal(sample(text, 'supervisor_tasks{state="succeeded"}'), 1)
    assert.equal(sample(text, 'supervisor_tasks{state="failed"}'), 1)
    assert.equal(sample(text, 'supervisor_runs_total{outcome="succeeded"}'), 1)
    assert.equal(sample(text, 'supervisor_runs_total{outcome="failed"}'), 1)
    assert.equal(sample(text, 'supervisor_tasks_failed_total'), 1)
    assert.equal(sample(text, 'supervisor_run_duration_seconds_count'), 2)
    assert.equal(sample(text, 'supervisor_start_lateness_seconds_count{priority="medium"}'), 2)
    assert.ok((sample(text, 'supervisor_events_written_total') ?? 0) >= 8)
    assert.equal(sample(text, 'supervisor_deadline_missed_total'), 0)
    assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 10e6, 'the daemon\'s own process metrics')
    assert.ok(sample(text, 'nodejs_eventloop_lag_p99_seconds') !== undefined)
    assert.doesNotMatch(text, /fine|broken/, 'no label per task')
  })

  it('passes promtool check metrics', { skip: has('promtool') ? false : 'promtool is not installed (Debian package prometheus)' }, async () => {
    const text = await (await scrape(`Bearer ${token}`)).text()
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`)
  })

  describe('a real Prometheus', { skip: has('prometheus') ? false : 'prometheus is not installed (Debian package prometheus)' }, () => {
    let prometheus: ChildProcess | null = null
    let dir: Awaited<ReturnType<typeof tempDir>> | null = null
    let api = ''
    let output = ''

    before(async () => {
      dir = await tempDir()
      const port = await freePort()
      api = `http://127.0.0.1:${port}/api/v1/query`
      const config = join(dir.path, 'prometheus.yml')
      await writeFile(config, [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        '  - job_name: supervisor',
        `    authorization: { type: Bearer, credentials: ${JSON.stringify(token)} }`,
        `    static_configs: [ { targets: [ "127.0.0.1:${suite.daemon.port}" ] } ]`,
        '',
      ].join('\n'))
      prometheus = spawn('prometheus', [
        `--config.file=${config}`, `--storage.tsdb.path=${join(dir.path, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
      ], { stdio: ['ignore', 'pipe', 'pipe'] })
      prometheus.stdout?.on('data', (d: Buffer) => (output += d.toString()))
      prometheus.stderr?.on('data', (d: Buffer) => (output += d.toString()))
    })

    after(async () => {
      if (prometheus !== null && prometheus.exitCode === null) {
        const exited = new Promise((resolve) => prometheus?.once('exit', resolve))
        prometheus.kill('SIGTERM')
        await exited
      }
      await dir?.remove()
    })

    it('scrapes the daemon with the token; a query returns the counts', { timeout: 60_000 }, async () => {
      const query = async (expr: string): Promise<string | undefined> => {
        try {
          const res = await fetch(`${api}?query=${encodeURIComponent(expr)}`)
          const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } }
          return body.data?.result?.[0]?.value[1]
        } catch {
          return undefined
        }
      }
      const up = await waitFor(() => query('up{job="supervisor"}'), `Prometheus scraping the daemon\n${output}`, 45_000, 250)
      assert.equal(up, '1', 'the scrape succeeds with the token')
      assert.equal(await query('supervisor_runs_total{outcome="failed"}'), '1')
      assert.equal(await query('sum(supervisor_tasks)'), '2')
    })
  })
})
