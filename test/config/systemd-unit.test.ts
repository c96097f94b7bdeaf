// The systemd unit `supervisor startup` writes: its fields, its quoting, and systemd's own verdict.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { unitText, unitWord } from '../../src/config/systemd-unit.js'
import { tempDir } from '../helpers/temp-dir.js'

const hasAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0
const options = { node: process.execPath, cli: '/opt/supervisor/dist/src/cli/main.js', home: '/var/lib/supervisor', config: '/etc/supervisor/ecosystem.json' }

describe('systemd unit', () => {
  it('starts the daemon with absolute paths, restarts it, kills only the daemon, reloads with SIGHUP', () => {
    const text = unitText(options)
    assert.match(text, new RegExp(`^ExecStart=${process.execPath} /opt/supervisor/dist/src/cli/main.js daemon --home /var/lib/supervisor --config /etc/supervisor/ecosystem.json$`, 'm'))
    for (const line of ['KillMode=process', 'Restart=always', 'ExecReload=/bin/kill -HUP $MAINPID', 'WantedBy=multi-user.target', 'Type=simple']) {
      assert.ok(text.split('\n').includes(line), line)
    }
    assert.doesNotMatch(unitText({ ...options, config: null }), /--config/)
  })

  it('quotes words as systemd reads them: spaces, quotes, backslashes, % and $', () => {
    assert.equal(unitWord('/plain/path'), '/plain/path')
    assert.equal(unitWord('/with space/x'), '"/with space/x"')
    assert.equal(unitWord('a"b\\c'), '"a\\"b\\\\c"')
    assert.equal(unitWord('50%'), '50%%')
    assert.equal(unitWord('$HOME'), '$$HOME')
    assert.equal(unitWord(''), '""')
  })

  it('passes systemd-analyze verify, odd paths included', { skip: hasAnalyze ? false : 'systemd-analyze is not installed (Debian package systemd)' }, async () => {
    const dir = await tempDir()
    try {
      const home = join(dir.path, 'home with space%and$dollar')
      await mkdir(home)
      const file = join(dir.path, 'supervisor.service')
      await writeFile(file, unitText({ ...options, home, config: join(dir.path, 'eco "quoted".json') }))
      const verdict = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' })
      assert.equal(verdict.status, 0, verdict.stderr)
      assert.equal(verdict.stderr.trim(), '', 'no warnings')
    } finally {
      await dir.remove()
    }
  })
})
