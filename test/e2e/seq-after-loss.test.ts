// A daemon whose database lost acknowledged writes still never gives a seq twice: resumed streams stay right.
import assert from 'node:assert/strict'
import { readdir, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Client } from '../../src/cli/client.js'
import type { TaskEvent } from '../../src/core/types.js'
import { DaemonProcess, fixture } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

describe('seqs after the database lost writes', () => {
  it('after a stop and a truncated write-ahead log, the next event\'s seq is past every seq seen before', { timeout: 60_000 }, async () => {
    const dir = await tempDir()
    const daemons: DaemonProcess[] = []
    try {
      const first = await DaemonProcess.start(dir.path)
      daemons.push(first)
      for (const name of ['a', 'b', 'c']) await first.add(name, ['--script', fixture('ok.sh'), '--at', '+1d'])
      await first.waitForType('task.added', 'c')
      const seen = Math.max(...first.events.map((e) => e.seq))
      assert.equal(await first.stop(), 0)
      // A power loss before LevelDB's log reached the disk: every write since the database was made is gone.
      const db = join(dir.path, 'db')
      const newest = (await readdir(db)).filter((name) => name.endsWith('.log')).sort().at(-1)
      assert.ok(newest !== undefined)
      await truncate(join(db, newest), 0)

      const second = await DaemonProcess.start(dir.path, [], { follow: false })
      daemons.push(second)
      assert.equal((await second.ctl(['status', 'a'])).code, 1, 'the lost task is really gone')
      // A stream resumed where the old daemon left off gets the new events, under new seqs.
      const client = await Client.connect(join(dir.path, 'supervisor.sock'))
      try {
        const events: TaskEvent[] = []
        client.onEvent = (event) => void events.push(event)
        await client.call('events.subscribe', { since: seen })
        await second.add('d', ['--script', fixture('ok.sh'), '--at', '+1d'])
        const added = await waitFor(() => events.find((e) => e.type === 'task.added' && e.task === 'd'), 'task.added of d')
        assert.ok(added.seq > seen, `seq ${added.seq} of a new event is past ${seen}, the last seq given before the loss`)
      } finally {
        client.close()
      }
    } finally {
      for (const daemon of daemons) await daemon.cleanup()
      await dir.remove()
    }
  })

  it('a garbage seq reservation file does not stop the daemon: it says so on stderr and counts on from the database', { timeout: 60_000 }, async () => {
    const dir = await tempDir()
    const daemons: DaemonProcess[] = []
    try {
      const first = await DaemonProcess.start(dir.path)
      daemons.push(first)
      await first.add('a', ['--script', fixture('ok.sh'), '--at', '+1d'])
      const seen = (await first.waitForType('task.added', 'a')).seq
      assert.equal(await first.stop(), 0)
      await writeFile(join(dir.path, 'db.seq'), '{"reserved":"lots"}')

      const second = await DaemonProcess.start(dir.path)
      daemons.push(second)
      assert.match(second.output.text, new RegExp(`warning: ${join(dir.path, 'db.seq')}: expected \\{"reserved": a whole number\\}, got .*; seqs continue after the database's last seq ${seen}`))
      await second.add('b', ['--script', fixture('ok.sh'), '--at', '+1d'])
      assert.equal((await second.waitForType('task.added', 'b')).seq, seen + 1)
    } finally {
      for (const daemon of daemons) await daemon.cleanup()
      await dir.remove()
    }
  })
})
