// The dashboard in a real browser (Debian's headless Chromium): live updates, scopes, actions, reconnects.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { browserMissing as skip, launchBrowser } from '../helpers/browser.js'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'


describe('dashboard', { skip }, () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  let shots: Awaited<ReturnType<typeof tempDir>>
  let daemon: DaemonProcess
  let browser: Browser
  let readToken = ''
  let adminToken = ''
  const daemons: DaemonProcess[] = []

  before(async () => {
    home = await tempDir()
    shots = await tempDir('supervisor-shots-')
    daemon = await DaemonProcess.start(home.path, ['--max-concurrent', '2'])
    daemons.push(daemon)
    readToken = (await daemon.ctlJson<{ token: string }>(['token', 'create', '--scope', 'read'])).token
    adminToken = (await daemon.ctlJson<{ token: string }>(['token', 'create', '--scope', 'admin'])).token
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    for (const d of daemons) await d.cleanup()
    await home.remove()
    console.log(`dashboard screenshots were in ${shots.path}`)
    await shots.remove()
  })

  /** Open the page with a token in the fragment; collect every page error and console error. */
  async function open(token: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text())
    })
    await page.goto(`http://127.0.0.1:${daemon.port}/#token=${token}`)
    await page.waitForSelector('#connection.online')
    // A marker a reload would wipe: the tests check it survives every update.
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42))
    return { page, errors }
  }

  const row = (name: string, state?: string): string => `tr[data-task="${name}"]${state === undefined ? '' : `[data-state="${state}"]`}`

  it('shows the tasks, and follows a new one from scheduled to running to succeeded without a reload', async () => {
    assert.equal((await daemon.ctl(['add', 'existing', '--script', fixture('ok.sh')])).code, 0)
    await daemon.waitForEvent((e) => e.type === 'task.succeeded' && e.task === 'existing', 'existing to succeed')
    const { page, errors } = await open(readToken)
    await page.waitForSelector(row('existing', 'succeeded'))

    const at = new Date(Date.now() + 1500).toISOString()
    assert.equal((await daemon.ctl(['add', 'fresh', '--script', fixture('sleep.sh'), '--at', at, '--', '1'])).code, 0)
    await page.waitForSelector(row('fresh', 'scheduled'))
    await page.waitForSelector(row('fresh', 'running'), { timeout: 10_000 })
    const pid = await page.textContent(`${row('fresh')} td.pid`)
    assert.match(pid ?? '', /^\d+$/, 'a running task shows its pid')
    await page.waitForSelector(row('fresh', 'succeeded'), { timeout: 10_000 })
    assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42, 'no reload happened')
    await page.screenshot({ path: join(shots.path, 'read.png'), fullPage: true })
    assert.deepEqual(errors, [])
    await page.close()
  })

  it('offers no admin controls with a read token', async () => {
    const { page, errors } = await open(readToken)
    await page.waitForSelector(row('existing'))
    assert.equal(await page.locator('button[data-action]').count(), 0)
    assert.equal(await page.locator('th.admin-only').isVisible(), false)
    assert.deepEqual(errors, [])
    await page.close()
  })

  it('stops a running task with a click when the token is admin', async () => {
    assert.equal((await daemon.ctl(['add', 'long', '--script', fixture('sleep.sh'), '--', '60'])).code, 0)
    const { page, errors } = await open(adminToken)
    await page.waitForSelector(row('long', 'running'))
    await page.click(`${row('long')} button[data-action="stop"]`)
    await page.waitForSelector(row('long', 'stopped'), { timeout: 10_000 })
    const stopped = await daemon.waitForEvent((e) => e.type === 'run.exited' && e.task === 'long', 'long to exit')
    assert.equal(stopped.type === 'run.exited' ? stopped.outcome : null, 'stopped')
    await page.screenshot({ path: join(shots.path, 'admin.png'), fullPage: true })
    assert.deepEqual(errors, [])
    await page.close()
  })

  it('reconnects after a daemon restart and picks up what happened meanwhile', async () => {
    const { page } = await open(readToken)
    await page.waitForSelector(row('existing'))
    const port = daemon.port
    await daemon.stop()
    await page.waitForSelector('#connection.offline')
    daemon = await DaemonProcess.start(home.path, ['--port', String(port)])
    daemons.push(daemon)
    assert.equal((await daemon.ctl(['add', 'after-restart', '--script', fixture('ok.sh')])).code, 0)
    await page.waitForSelector(row('after-restart', 'succeeded'), { timeout: 15_000 })
    assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42, 'no reload happened')
    await page.close()
  })
})
