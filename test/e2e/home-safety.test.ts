// End to end: a daemon refuses (exit 1) a home, `logs/` or `db/` another user could subvert (a symlink,
// not its own, writable by group or others), changing nothing; a fresh home and a good one start.
import assert from 'node:assert/strict'
import { chmod, chown, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DaemonProcess, runCliWithin } from '../helpers/daemon-process.js'
import { tempDir } from '../helpers/temp-dir.js'

type Dir = Awaited<ReturnType<typeof tempDir>>
const NOBODY = 65534

/** `supervisor daemon --home HOME`, expected to give up at once. */
async function refused(home: string): Promise<{ code: number; stderr: string }> {
  const result = await runCliWithin(['daemon', '--home', home, '--port', '0', '--max-cpu', '100'], 15_000)
  assert.equal(result.timedOut, false, `the daemon started on ${home}:\n${result.stdout}`)
  return result
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777

describe('home safety', () => {
  let work: Dir
  before(async () => {
    work = await tempDir()
  })
  after(async () => {
    await work.remove()
  })

  /** A home like one a daemon made (0700 with 0700 logs/ and db/), under the suite's folder. */
  async function home(name: string): Promise<string> {
    const root = join(work.path, name)
    for (const path of [root, join(root, 'logs'), join(root, 'db')]) await mkdir(path, { mode: 0o700 })
    return root
  }

  it('refuses a logs/ writable by others, naming it and the fix; a symlink planted in it is not followed and nothing changes', { timeout: 30_000 }, async () => {
    const root = await home('open-logs')
    const logs = join(root, 'logs')
    await chmod(logs, 0o777)
    const victim = join(work.path, 'victim')
    await writeFile(victim, 'precious\n')
    await symlink(victim, join(logs, 'job.out.log'))
    const result = await refused(root)
    assert.equal(result.code, 1)
    assert.equal(result.stderr, `error: home: ${logs} is writable by others (mode 0777): they could plant symlinks or swap files there; fix: chmod 700 ${logs} (and check what is in it)\n`)
    assert.equal(await modeOf(logs), 0o777, 'not silently fixed')
    assert.equal(await readFile(victim, 'utf8'), 'precious\n')
  })

  it('refuses a home, and a db/, writable by its group', { timeout: 30_000 }, async () => {
    const root = await home('group-home')
    await chmod(root, 0o770)
    const result = await refused(root)
    assert.equal(result.code, 1)
    assert.match(result.stderr, new RegExp(`^error: home: ${root} is writable by its group \\(mode 0770\\).*fix: chmod 700 ${root} `))
    assert.equal(await modeOf(root), 0o770, 'not silently tightened')

    const other = await home('open-db')
    await chmod(join(other, 'db'), 0o757)
    const db = await refused(other)
    assert.equal(db.code, 1)
    assert.match(db.stderr, new RegExp(`^error: home: ${join(other, 'db')} is writable by others \\(mode 0757\\)`))
  })

  it('refuses a logs/ owned by another user (nobody)', { timeout: 30_000 }, async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('only root can give a folder away')
      return
    }
    const root = await home('nobody-logs')
    const logs = join(root, 'logs')
    await chown(logs, NOBODY, NOBODY)
    const result = await refused(root)
    assert.equal(result.code, 1)
    assert.equal(result.stderr, `error: home: ${logs} is owned by uid ${NOBODY}, not by this daemon's user (uid 0): its owner could plant files there; fix: chown 0 ${logs} (and check what is in it)\n`)
  })

  it('refuses a symlink as the home, and as its logs/', { timeout: 30_000 }, async () => {
    const real = await home('real-home')
    const link = join(work.path, 'linked-home')
    await symlink(real, link)
    const result = await refused(link)
    assert.equal(result.code, 1)
    assert.match(result.stderr, new RegExp(`^error: home: ${link} is a symbolic link: .*fix: use the folder it points to as the home`))

    const root = await home('linked-logs')
    const elsewhere = join(work.path, 'elsewhere')
    await mkdir(elsewhere, { mode: 0o700 })
    await rm(join(root, 'logs'), { recursive: true })
    await symlink(elsewhere, join(root, 'logs'))
    const logs = await refused(root)
    assert.equal(logs.code, 1)
    assert.match(logs.stderr, new RegExp(`^error: home: ${join(root, 'logs')} is a symbolic link`))
  })

  it('starts on a fresh home, making it and its logs/ and db/ 0700, and again on it once stopped; and on an existing 0755 home', { timeout: 60_000 }, async () => {
    const root = join(work.path, 'fresh', 'home')
    const first = await DaemonProcess.start(root, [], { follow: false })
    try {
      for (const path of [root, join(root, 'logs'), join(root, 'db')]) assert.equal(await modeOf(path), 0o700, path)
    } finally {
      await first.cleanup()
    }
    assert.equal(first.child.exitCode, 0)
    const second = await DaemonProcess.start(root, [], { follow: false })
    await second.cleanup()
    assert.equal(second.child.exitCode, 0)

    const readable = await home('readable')
    await chmod(readable, 0o755)
    const third = await DaemonProcess.start(readable, [], { follow: false })
    await third.cleanup()
    assert.equal(await modeOf(readable), 0o755, 'an existing home is left as its owner set it')
  })
})
