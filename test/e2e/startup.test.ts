// End to end: `supervisor startup` and `unstartup` as a user runs them. `--print` writes a unit that
// systemd accepts; where systemd does not run this machine (this container) nothing is installed and
// it says so; bad flags name the flag.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { runCli } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'

const hasAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0
const systemdRuns = existsSync('/run/systemd/system')

describe('supervisor startup', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let units: Awaited<ReturnType<typeof tempDir>>
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, SUPERVISOR_UNIT_DIR: units.path })
  before(async () => {
    dir = await tempDir()
    units = await tempDir()
    await writeFile(join(dir.path, 'eco.json'), '{"tasks":[]}')
  })
  after(async () => {
    await dir.remove()
    await units.remove()
  })

  it('--print writes the unit for this release, with the home and config as absolute paths', { timeout: 30_000 }, async () => {
    const result = await runCli(['startup', '--print', '--home', join(dir.path, 'home'), '--config', 'eco.json'], { cwd: dir.path, env: env() })
    assert.equal(result.code, 0, result.stderr)
    const exec = /^ExecStart=(.*)$/m.exec(result.stdout)?.[1] ?? ''
    assert.ok(exec.startsWith(`${process.execPath} /`), exec)
    assert.match(exec, /\/dist\/src\/cli\/main\.js daemon --home \S+\/home --config \S+\/eco\.json$/)
    assert.match(result.stdout, /^KillMode=process$/m)
    assert.deepEqual(await readdir(units.path), [], 'nothing written')
    if (hasAnalyze) {
      const file = join(dir.path, 'supervisor.service')
      await writeFile(file, result.stdout)
      const verdict = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' })
      assert.equal(verdict.status, 0, verdict.stderr)
    }
  })

  it('without systemd running the machine: prints the unit, installs nothing, exits 1 saying why', { timeout: 30_000, skip: systemdRuns ? 'systemd runs this machine' : false }, async () => {
    const result = await runCli(['startup', '--home', join(dir.path, 'home')], { env: env() })
    assert.equal(result.code, 1)
    assert.match(result.stdout, /^\[Service\]$/m)
    assert.match(result.stderr, /systemd is not running this machine/)
    assert.deepEqual(await readdir(units.path), [])
    const removal = await runCli(['unstartup'], { env: env() })
    assert.equal(removal.code, 1)
    assert.match(removal.stderr, /no unit .*supervisor\.service: nothing to remove/)
  })

  it('a --config that is not a file is refused, naming the flag', { timeout: 30_000 }, async () => {
    const result = await runCli(['startup', '--print', '--config', join(dir.path, 'missing.json')], { env: env() })
    assert.equal(result.code, 1)
    assert.match(result.stderr, /--config: no file .*missing\.json/)
    assert.equal(result.stdout, '')
  })
})
