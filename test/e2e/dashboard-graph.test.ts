// The dashboard's workflow graph, in a real browser: a selected task's prerequisites to the left, the
// tasks after it to the right, its trigger targets dashed; states follow the event stream; a box
// selects its task; at desktop and phone sizes, nothing overflows the page.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Browser } from 'playwright-core'
import { browserMissing as skip, keepShot, launchBrowser, DESKTOP, SIZES } from '../helpers/browser.js'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'


interface Box { task: string; state: string; x: number; selected: boolean }

describe('dashboard workflow graph', { skip }, () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  let work: Awaited<ReturnType<typeof tempDir>>
  let daemon: DaemonProcess
  let browser: Browser
  let token = ''

  before(async () => {
    home = await tempDir()
    work = await tempDir()
    daemon = await DaemonProcess.start(home.path, ['--max-concurrent', '2', '--min-free-memory', '0'])
    token = (await daemon.ctlJson<{ token: string }>(['token', 'create', '--scope', 'read'])).token
    const file = join(work.path, 'chain.json')
    await writeFile(file, JSON.stringify({ tasks: [
      { name: 'backup', script: fixture('sleep.sh'), args: ['600'] },
      { name: 'report', script: fixture('ok.sh'), after: ['backup'], onFailure: ['alert'] },
      { name: 'publish', script: fixture('ok.sh'), after: ['report'] },
      { name: 'alert', script: fixture('ok.sh'), at: 'manual' },
    ] }))
    const applied = await daemon.ctl(['apply', file])
    assert.equal(applied.code, 0, applied.stderr)
    await daemon.waitForType('run.started', 'backup')
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await daemon?.cleanup()
    await home?.remove()
    await work?.remove()
  })

  const boxes = `[...document.querySelectorAll('#graph g.node')].map((g) => ({
    task: g.dataset.task, state: g.dataset.state, x: Number(g.querySelector('rect').getAttribute('x')), selected: g.classList.contains('selected') }))`

  for (const [label, viewport] of SIZES) {
    it(`draws the selected task's workflow at ${label} size, live`, { timeout: 40_000 }, async () => {
      const page = await browser.newPage({ viewport })
      const errors: string[] = []
      page.on('pageerror', (error) => errors.push(error.message))
      await page.goto(`http://127.0.0.1:${daemon.port}/#token=${token}`)
      await page.click('#tasks tr[data-task="report"] button.link')
      await page.waitForSelector('#graph g.node[data-task="publish"]', { timeout: 10_000 })
      const drawn = await page.evaluate(boxes) as Box[]
      const at = (task: string): Box => drawn.find((b) => b.task === task) as Box
      assert.deepEqual(drawn.map((b) => b.task).sort(), ['alert', 'backup', 'publish', 'report'])
      assert.equal(at('report').selected, true)
      assert.ok(at('backup').x < at('report').x && at('report').x < at('publish').x, 'prerequisites left, dependents right')
      assert.ok(at('alert').x > at('report').x, 'the trigger target to the right')
      assert.equal(at('backup').state, 'running')
      assert.equal(at('report').state, 'scheduled')
      const edges = await page.evaluate(`[...document.querySelectorAll('#graph path.edge')].map((p) => p.dataset.from + '>' + p.dataset.to + ':' + p.dataset.kind).sort()`) as string[]
      assert.deepEqual(edges, ['backup>report:after', 'report>alert:failure', 'report>publish:after'])
      const dash = await page.evaluate(`getComputedStyle(document.querySelector('#graph path.edge-failure')).strokeDasharray`) as string
      assert.notEqual(dash, 'none', 'a trigger is dashed')
      const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth') as number
      assert.ok(overflow <= 0, `nothing to scroll sideways (${overflow}px)`)
      if (label === 'desktop') {
        await page.locator('#details').screenshot({ path: join(work.path, 'graph-desktop.png') })
        await keepShot(work.path, 'graph-desktop.png')
      }
      // A box selects its task.
      await page.click('#graph g.node[data-task="publish"]')
      await page.waitForFunction(`document.querySelector('#details-name').textContent === 'publish'`)
      assert.deepEqual(errors, [])
      await page.close()
    })
  }

  it('follows the event stream: the backup ends, its box and the report\'s change', { timeout: 40_000 }, async () => {
    const page = await browser.newPage({ viewport: DESKTOP })
    await page.goto(`http://127.0.0.1:${daemon.port}/#token=${token}`)
    await page.click('#tasks tr[data-task="report"] button.link')
    await page.waitForSelector('#graph g.node[data-task="backup"][data-state="running"]')
    await daemon.ctl(['stop', 'backup'])
    await page.waitForSelector('#graph g.node[data-task="backup"][data-state="stopped"]', { timeout: 10_000 })
    await page.waitForSelector('#graph g.node[data-task="report"][data-state="skipped"]', { timeout: 10_000 })
    await page.close()
  })
})
