// The dashboard's timeline of the forecast, in a real browser: runs going on and queued at their
// forecast times, deadlines as markers, a run expected to miss its deadline in red; at desktop and
// phone sizes.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Browser } from 'playwright-core'
import { browserMissing as skip, keepShot, launchBrowser, SIZES } from '../helpers/browser.js'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'


describe('dashboard timeline', { skip }, () => {
  let home: Awaited<ReturnType<typeof tempDir>>
  let shots: Awaited<ReturnType<typeof tempDir>>
  let daemon: DaemonProcess
  let browser: Browser
  let token = ''

  before(async () => {
    home = await tempDir()
    shots = await tempDir('supervisor-shots-')
    daemon = await DaemonProcess.start(home.path, ['--max-concurrent', '1', '--max-cpu', '100', '--min-free-memory', '0'])
    token = (await daemon.ctlJson<{ token: string }>(['token', 'create', '--scope', 'read'])).token
    await daemon.add('nightly-backup', ['--script', fixture('sleep.sh'), '--expect', '2h', '--', '600'])
    await daemon.waitForType('run.started', 'nightly-backup')
    // Behind a two-hour run with a deadline in one hour: at risk.
    await daemon.add('invoice-export', ['--script', fixture('ok.sh'), '--expect', '30m', '--deadline', '+1h'])
    await daemon.add('report', ['--script', fixture('ok.sh'), '--expect', '20m', '--at', '+3h', '--deadline', '+5h'])
    // Hourly: the forecast places its next run; the timeline marks the slots after it.
    await daemon.add('digest', ['--script', fixture('ok.sh'), '--expect', '5m', '--cron', '0 * * * *'])
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await daemon?.cleanup()
    await home?.remove()
    await shots?.remove()
  })

  for (const [label, viewport] of SIZES) {
    it(`draws the next hours at ${label} size: the run going on, the queued ones at their times, deadlines, the one at risk in red`, { timeout: 30_000 }, async () => {
      const page = await browser.newPage({ viewport })
      const errors: string[] = []
      page.on('pageerror', (error) => errors.push(error.message))
      await page.goto(`http://127.0.0.1:${daemon.port}/#token=${token}`)
      await page.waitForSelector('#timeline g.run[data-task="report"]', { timeout: 10_000 })
      interface Run { task: string; classes: string; x: number; width: number; deadline: boolean }
      const runs = await page.evaluate(`[...document.querySelectorAll('#timeline g.run')].map((g) => {
        const rect = g.querySelector('rect')
        return { task: g.dataset.task, classes: g.getAttribute('class'), x: Number(rect.getAttribute('x')), width: Number(rect.getAttribute('width')), deadline: g.querySelector('line.deadline') !== null }
      })`) as Run[]
      const slots = await page.evaluate(`document.querySelectorAll('#timeline g.run[data-task="digest"] rect.slot').length`) as number
      assert.ok(slots >= 3, `the hourly task's later slots are marked (${slots})`)
      assert.deepEqual(runs.map((r) => r.task).filter((t) => t !== 'digest'), ['nightly-backup', 'invoice-export', 'report'])
      const [backup, invoice, report] = runs.filter((r) => r.task !== 'digest') as [Run, Run, Run]
      assert.match(backup.classes, /\brunning\b/)
      assert.match(invoice.classes, /\bqueued\b.*\bat-risk\b/)
      assert.doesNotMatch(report.classes, /at-risk/)
      // The export waits for the backup's expected end (2 h): a third of the way along the 6 h; the report at +3 h.
      assert.ok(Math.abs(invoice.x - (backup.x + backup.width)) <= 2, `the export starts where the backup ends (${invoice.x} vs ${backup.x + backup.width})`)
      assert.ok(report.x > invoice.x + invoice.width, 'the report comes later')
      assert.equal(invoice.deadline, true)
      assert.equal(report.deadline, true)
      assert.match(await page.textContent('#timeline-at-risk') ?? '', /1 at risk/)
      const fill = await page.evaluate(`getComputedStyle(document.querySelector('#timeline g.at-risk rect')).fill`)
      assert.equal(fill, 'rgb(192, 57, 43)', 'at risk is drawn in red')
      const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth') as number
      assert.ok(overflow <= 0, `nothing to scroll sideways (${overflow}px)`)
      await page.screenshot({ path: join(shots.path, `timeline-${label}.png`), fullPage: false })
      await keepShot(shots.path, `timeline-${label}.png`)
      assert.deepEqual(errors, [])
      await page.close()
    })
  }
})
