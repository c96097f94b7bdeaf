// The dashboard's browser tests: Debian's headless Chromium driven by playwright-core, the sizes they
// check, and the screenshots a run may keep (DASHBOARD_SHOTS: a folder to copy them to).
import { existsSync } from 'node:fs'
import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'

/** Why browser tests cannot run here, or false. */
export const browserMissing: string | false = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (.ci/run installs Debian's chromium)`

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
}

export const DESKTOP = { width: 1440, height: 900 } as const
export const PHONE = { width: 390, height: 844 } as const
export const SIZES = [['desktop', DESKTOP], ['phone', PHONE]] as const

/** Copy a screenshot from `dir` to $DASHBOARD_SHOTS, when set (the README's pictures come from there). */
export async function keepShot(dir: string, file: string): Promise<void> {
  const keep = process.env['DASHBOARD_SHOTS']
  if (keep !== undefined) await copyFile(join(dir, file), join(keep, file))
}
