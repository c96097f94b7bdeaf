// End to end: what the daemon's HTTP listener serves without a token: the dashboard's files, counts
// on /health, and nothing else (no task data, GET and HEAD only).
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { get } from 'node:http'
import { before, describe, it } from 'node:test'
import { daemonForSuite, fixture, type DaemonProcess } from '../helpers/daemon-process.js'

describe('the HTTP listener', () => {
  const suite = daemonForSuite()
  let daemon: DaemonProcess
  let base: string

  before(async () => {
    daemon = suite.daemon
    base = `http://127.0.0.1:${daemon.port}`
    await daemon.add('secret-name', ['--script', fixture('ok.sh'), '--at', '+1h'])
  })

  it('serves the dashboard page and its assets as shipped, with the security headers', async () => {
    for (const [path, file, type] of [['/', 'index.html', 'text/html'], ['/app.js', 'app.js', 'text/javascript'], ['/style.css', 'style.css', 'text/css']]) {
      const response = await fetch(base + path)
      assert.equal(response.status, 200, path)
      assert.match(response.headers.get('content-type') ?? '', new RegExp(`^${type}`))
      assert.equal(await response.text(), await readFile(new URL(`../../../src/dashboard/${file}`, import.meta.url), 'utf8'), path)
      assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'.*frame-ancestors 'none'/)
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff')
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer')
    }
  })

  it('answers /health with counts only: no task data without a token', async () => {
    const response = await fetch(`${base}/health`)
    assert.equal(response.status, 200)
    const text = await response.text()
    assert.deepEqual(JSON.parse(text), { status: 'ok', tasks: 1, ready: 0, running: 0 })
    assert.doesNotMatch(text, /secret-name/)
  })

  it('answers HEAD without a body, anything but GET and HEAD with 405, an unknown path with 404', async () => {
    const head = await fetch(base, { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(await head.text(), '')
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const refused = await fetch(base, { method, body: '{}' })
      assert.equal(refused.status, 405, method)
      assert.deepEqual(await refused.json(), { error: { code: 'invalid', message: 'GET only' } })
    }
    // Sent as written (fetch would resolve the dots first): files are served from a fixed list only.
    const traversal = await new Promise<number | undefined>((resolve, reject) =>
      get({ host: '127.0.0.1', port: daemon.port, path: '/../../db/CURRENT' }, (res) => {
        res.resume()
        resolve(res.statusCode)
      }).on('error', reject))
    assert.equal(traversal, 404)
    const nope = await fetch(`${base}/tasks?x=1`)
    assert.equal(nope.status, 404)
    assert.deepEqual(await nope.json(), { error: { code: 'not_found', message: 'no such path /tasks' } })
    assert.equal((await fetch(`${base}/favicon.ico`)).status, 204)
  })
})
