// The dashboard as a new user meets it, in a real browser at desktop and phone sizes: safe removes, honest
// history, an honest offline state, a layout that fits, and a list one can search and sort.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { browserMissing as skip, keepShot, launchBrowser, DESKTOP, PHONE } from '../helpers/browser.js'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

/** Set to a folder to keep the screenshots (they are taken in a temporary one otherwise). */
const LONG_NAME = 'nightly-backup-of-the-customer-database-to-offsite-storage'

describe('dashboard in everyday use', { skip }, () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  let otherHome: Awaited<ReturnType<typeof tempDir>>
  let shots: Awaited<ReturnType<typeof tempDir>>
  let daemon: DaemonProcess
  let browser: Browser
  let readToken = ''
  let adminToken = ''
  const daemons: DaemonProcess[] = []

  before(async () => {
    home = await tempDir()
    otherHome = await tempDir()
    shots = await tempDir('supervisor-shots-')
    // One run at a time: the tasks behind it wait, and say why, as on a busy machine.
    daemon = await DaemonProcess.start(home.path, ['--max-concurrent', '1'])
    daemons.push(daemon)
    readToken = (await daemon.ctlJson<{ token: string }>(['token', 'create', '--scope', 'read'])).token
    adminToken = (await daemon.ctlJson<{ token: string }>(['token', 'create', '--scope', 'admin'])).token
    await daemon.add('alpha', ['--script', fixture('ok.sh')])
    await daemon.waitForType('task.succeeded', 'alpha')
    await daemon.add('beta', ['--script', fixture('fail.sh'), '--retries', '0'])
    await daemon.waitForType('task.failed', 'beta')
    await daemon.add(LONG_NAME, ['--script', fixture('sleep.sh'), '--priority', 'low', '--deadline', '+2h', '--', '600'])
    await daemon.waitForType('run.started', LONG_NAME)
    await daemon.add('gamma-waiting', ['--script', fixture('ok.sh'), '--priority', 'high', '--deadline', '+10m'])
    await daemon.add('delta-later', ['--script', fixture('ok.sh'), '--at', '+1h', '--deadline', '+3h'])
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    for (const d of daemons) await d.cleanup()
    await home.remove()
    await otherHome.remove()
    await shots.remove()
  })

  async function open(token: string, viewport: { width: number; height: number } = DESKTOP): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport })
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text())
    })
    await page.goto(`http://127.0.0.1:${daemon.port}/#token=${token}`)
    await page.waitForSelector('#connection.online')
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42))
    return { page, errors }
  }

  async function shot(page: Page, file: string): Promise<void> {
    await page.screenshot({ path: join(shots.path, file), fullPage: true })
    await keepShot(shots.path, file)
  }

  const row = (name: string, state?: string): string => `tr[data-task="${name}"]${state === undefined ? '' : `[data-state="${state}"]`}`
  /** The names of the rows a user sees, top to bottom. */
  const shownNames = (page: Page): Promise<string[]> => page.evaluate(
    '[...document.querySelectorAll("#tasks tbody tr[data-task]")].filter((r) => r.offsetParent !== null).map((r) => r.dataset.task)',
  )
  /** True if the page is no wider than the window (nothing to scroll sideways to). */
  const fitsWidth = (page: Page): Promise<boolean> => page.evaluate('document.scrollingElement.scrollWidth <= innerWidth')
  const historyTypes = (page: Page): Promise<string[]> =>
    page.$$eval('#details-history li', (items) => items.map((li) => /\b((?:task|run)\.[a-z]+)\b/.exec(li.textContent ?? '')?.[1] ?? '?'))

  it('fits a 1440 px window: every action button lies inside the window and inside its table', async () => {
    const { page, errors } = await open(adminToken)
    await page.waitForSelector(row(LONG_NAME, 'running'))
    await page.waitForSelector(`${row('gamma-waiting')} td.waiting:not(:empty)`)
    const buttons = page.locator('#tasks button[data-action]')
    assert.ok(await buttons.count() >= 5)
    const table = await page.locator('#tasks').boundingBox()
    const width = await page.evaluate<number>('innerWidth')
    assert.ok(table !== null)
    for (const button of await buttons.all()) {
      const box = await button.boundingBox()
      const what = `${await button.getAttribute('aria-label') ?? await button.textContent()}`
      assert.ok(box !== null, `${what} is laid out`)
      assert.ok(box.x >= 0 && box.x + box.width <= width, `${what} is inside the window (x ${box.x}..${box.x + box.width}, window ${width})`)
      assert.ok(box.x >= table.x && box.x + box.width <= table.x + table.width, `${what} is inside its table`)
    }
    assert.ok(await fitsWidth(page), 'no sideways scrolling')
    await shot(page, 'dash-desktop.png')
    assert.deepEqual(errors, [])
    await page.close()
  })

  it('on a phone (390x844) shows cards with every task\'s actions in view, and never scrolls sideways', async () => {
    const { page, errors } = await open(adminToken, PHONE)
    await page.waitForSelector(row(LONG_NAME, 'running'))
    assert.ok(await fitsWidth(page), 'no sideways scrolling')
    assert.equal(await page.locator('#tasks thead').isVisible(), false, 'cards, not a table with a header row')
    for (const name of await shownNames(page)) {
      const buttons = page.locator(`${row(name)} button[data-action]`)
      assert.ok(await buttons.count() >= 2, `${name} has its actions`)
      for (const button of await buttons.all()) {
        assert.ok(await button.isVisible(), `${name}: ${await button.textContent()} is visible`)
        const box = await button.boundingBox()
        assert.ok(box !== null && box.x >= 0 && box.x + box.width <= 390, `${name}: ${await button.textContent()} is within the screen`)
      }
    }
    await page.click(`${row('alpha')} button.link`)
    await page.waitForSelector('#details-history li')
    assert.ok(await fitsWidth(page), 'no sideways scrolling with details open')
    await shot(page, 'dash-phone.png')
    assert.deepEqual(errors, [])
    await page.close()
  })

  it('filters by name and by state, and sorts by a clicked column header (a second click reverses)', async () => {
    const { page, errors } = await open(readToken)
    await page.waitForSelector(row('delta-later'))
    const all = await shownNames(page)
    assert.equal(all.length, 5)

    await page.fill('#filter', 'TA')
    assert.deepEqual(await shownNames(page), all.filter((name) => name.includes('ta')), 'names containing "ta", any case')
    await page.fill('#filter', '')
    await page.selectOption('#state-filter', 'succeeded')
    assert.deepEqual(await shownNames(page), ['alpha'])
    await page.selectOption('#state-filter', '')
    await page.fill('#filter', 'failed')
    assert.deepEqual(await shownNames(page), ['beta'], 'the text matches states too')
    await page.fill('#filter', '')
    assert.equal((await shownNames(page)).length, 5)

    const byName = [...all].sort((a, b) => a.localeCompare(b))
    await page.click('#tasks th button[data-sort="name"]')
    assert.deepEqual(await shownNames(page), byName)
    await page.click('#tasks th button[data-sort="name"]')
    assert.deepEqual(await shownNames(page), [...byName].reverse())
    assert.equal(await page.getAttribute('#tasks th[data-sort-key="name"]', 'aria-sort'), 'descending')

    await page.click('#tasks th button[data-sort="deadline"]')
    assert.deepEqual((await shownNames(page)).slice(0, 3), ['gamma-waiting', LONG_NAME, 'delta-later'], 'soonest deadline first, none last')
    await page.click('#tasks th button[data-sort="deadline"]')
    assert.deepEqual((await shownNames(page)).slice(0, 3), ['delta-later', LONG_NAME, 'gamma-waiting'], 'latest first, none still last')
    assert.deepEqual(errors, [])
    await page.close()
  })

  it('asks in the page before removing a task; cancel keeps it', async () => {
    await daemon.add('victim', ['--script', fixture('ok.sh'), '--at', '+1h'])
    const { page, errors } = await open(adminToken)
    await page.waitForSelector(row('victim', 'scheduled'))
    await page.click(`${row('victim')} button[data-action="remove"]`)
    await page.waitForSelector('#confirm[open]', { timeout: 2000 })
    assert.match(await page.textContent('#confirm') ?? '', /victim/)
    await page.click('#confirm-cancel')
    await page.waitForSelector('#confirm', { state: 'hidden' })
    assert.equal((await daemon.task('victim')).name, 'victim', 'cancel removed nothing')
    assert.equal(await page.locator(row('victim')).count(), 1)

    await page.click(`${row('victim')} button[data-action="remove"]`)
    await page.click('#confirm-ok')
    await daemon.waitForType('task.removed', 'victim')
    await page.waitForSelector(row('victim'), { state: 'detached' })
    assert.deepEqual(errors, [])
    await page.close()
  })

  it('shows history newest first, and a re-added name only its own since its latest task.added', async () => {
    assert.equal((await daemon.ctl(['stop', LONG_NAME])).code, 0, 'the one slot is free for this test\'s runs')
    await daemon.add('again', ['--script', fixture('ok.sh')])
    await daemon.waitForType('task.succeeded', 'again')
    assert.equal((await daemon.ctl(['remove', 'again'])).code, 0)
    await daemon.waitForType('task.removed', 'again')
    await daemon.add('again', ['--script', fixture('ok.sh'), '--at', '+1h'])
    const events = daemon.events.filter((e) => e.task === 'again')
    const latestAdd = events.findLastIndex((e) => e.type === 'task.added')
    const expected = events.slice(latestAdd).map((e) => e.type).reverse()

    const { page, errors } = await open(readToken)
    await page.click(`${row('again', 'scheduled')} td.name`)
    await waitFor(async () => (await historyTypes(page)).length > 0 || undefined, 'the history to show')
    assert.deepEqual(await historyTypes(page), expected)
    assert.equal(expected.at(-1), 'task.added')
    assert.ok(!(await historyTypes(page)).includes('task.removed'), 'the old task\'s removal is not this one\'s')
    assert.doesNotMatch(await page.textContent('#details-out') ?? '', /^ok/, 'the old task\'s output is not shown as this one\'s')
    assert.deepEqual(errors, [])
    await page.close()
  })

  it('greys out and disables actions while disconnected; back, it drops a task removed meanwhile', async () => {
    await daemon.add('doomed', ['--script', fixture('ok.sh'), '--at', '+1h'])
    const { page, errors } = await open(adminToken)
    await page.waitForSelector(row('doomed', 'scheduled'))
    const port = daemon.port
    await daemon.stop()
    await page.waitForSelector('#connection.offline')
    const buttons = page.locator('#tasks button[data-action]')
    assert.ok(await buttons.count() > 0)
    for (const button of await buttons.all()) assert.equal(await button.isDisabled(), true, 'no action offline')
    assert.equal(await page.locator('#offline').isVisible(), true, 'the page says it is offline')
    assert.ok(Number(await page.evaluate('getComputedStyle(document.querySelector("main")).opacity')) < 1, 'the stale list looks stale')
    await shot(page, 'dash-offline.png')

    // The change happens while the page cannot see it: a daemon on another port, then back on the page's.
    const elsewhere = await DaemonProcess.start(home.path)
    daemons.push(elsewhere)
    assert.equal((await elsewhere.ctl(['remove', 'doomed'])).code, 0)
    await elsewhere.add('newcomer', ['--script', fixture('ok.sh'), '--at', '+1h'])
    await elsewhere.stop()
    daemon = await DaemonProcess.start(home.path, ['--port', String(port), '--max-concurrent', '1'])
    daemons.push(daemon)

    await page.waitForSelector('#connection.online', { timeout: 15_000 })
    await page.waitForSelector(row('newcomer', 'scheduled'))
    assert.equal(await page.locator(row('doomed')).count(), 0, 'the removed task is gone')
    assert.equal(await page.locator('#offline').isVisible(), false)
    for (const button of await buttons.all()) assert.equal(await button.isDisabled(), false, 'actions are back')
    assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42, 'no reload happened')
    assert.deepEqual(errors.filter((e) => !e.includes('ERR_CONNECTION_REFUSED')), [])
    await page.close()
  })

  it('logged in to another daemon on the same port, starts afresh instead of waiting for the old seq', async () => {
    const { page } = await open(readToken)
    await page.waitForSelector(row('alpha'))
    const port = daemon.port
    await daemon.stop()
    const other = await DaemonProcess.start(otherHome.path, ['--port', String(port)])
    daemons.push(other)
    const token = (await other.ctlJson<{ token: string }>(['token', 'create', '--scope', 'read'])).token
    await other.add('elsewhere', ['--script', fixture('ok.sh'), '--at', '+1h'])
    await page.waitForSelector('#login', { state: 'visible', timeout: 15_000 })
    await page.fill('#token-input', token)
    await page.click('#login button[type="submit"]')
    await page.waitForSelector(row('elsewhere'))
    assert.equal(await page.locator(row('alpha')).count(), 0, 'the first daemon\'s tasks are gone')
    // Its seqs are far below the first daemon's: its events must still reach the page.
    await other.add('later', ['--script', fixture('ok.sh'), '--at', '+1h'])
    await page.waitForSelector(row('later', 'scheduled'), { timeout: 5000 })
    await page.close()
  })
})
