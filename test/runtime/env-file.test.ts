// Env files: dotenv text read at each start; a missing, odd or unreadable file fails the start with a
// message naming it; a task running as another user gets only a file that user could read itself.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmod, chown, mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { readableBy, readEnvFile } from '../../src/runtime/env-file.js'
import { tempDir } from '../helpers/temp-dir.js'

const NOBODY = { name: 'nobody', uid: 65534, gid: 65534 }
const asRoot = process.getuid?.() === 0

describe('env files', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  before(async () => {
    dir = await tempDir()
  })
  after(async () => dir.remove())

  it('parses dotenv: comments, quotes, export, multi-line values', async () => {
    const file = join(dir.path, 'app.env')
    await writeFile(file, '# a comment\nGREETING=hello\nQUOTED="two words"\nexport MODE=prod\nMULTI="l1\nl2"\nnot a pair\n')
    assert.deepEqual(await readEnvFile(file, null), { vars: { GREETING: 'hello', QUOTED: 'two words', MODE: 'prod', MULTI: 'l1\nl2' } })
  })

  it('a variable named error is a variable, not a failure', async () => {
    const file = join(dir.path, 'error.env')
    await writeFile(file, 'error=yes\n')
    assert.deepEqual(await readEnvFile(file, null), { vars: { error: 'yes' } })
  })

  it('refuses what is not a readable regular file, naming it', async () => {
    const missing = join(dir.path, 'missing.env')
    assert.deepEqual(await readEnvFile(missing, null), { error: `envFile ${missing}: no such file` })
    const folder = join(dir.path, 'folder.env')
    await mkdir(folder)
    assert.deepEqual(await readEnvFile(folder, null), { error: `envFile ${folder}: not a regular file` })
    const fifo = join(dir.path, 'fifo.env')
    execFileSync('mkfifo', [fifo])
    assert.deepEqual(await readEnvFile(fifo, null), { error: `envFile ${fifo}: not a regular file` }, 'a FIFO does not hang the start')
  })

  it('a task running as another user gets only a file that user could read', { skip: asRoot ? false : 'needs root (chown)' }, async () => {
    const secret = join(dir.path, 'root-only.env')
    await writeFile(secret, 'TOKEN=s3cret\n')
    await chmod(secret, 0o600)
    const refused = await readEnvFile(secret, NOBODY)
    assert.ok('error' in refused && /user "nobody" could not read it \(owner uid 0, mode 600\)/.test(refused.error), JSON.stringify(refused))
    assert.doesNotMatch(JSON.stringify(refused), /s3cret/)
    const link = join(dir.path, 'link.env')
    await symlink(secret, link)
    assert.ok('error' in (await readEnvFile(link, NOBODY)), 'a symlink is judged by what it points to')
    assert.deepEqual(await readEnvFile(secret, null), { vars: { TOKEN: 's3cret' } }, 'the daemon\'s own user reads it')
    const own = join(dir.path, 'nobody.env')
    await writeFile(own, 'MINE=1\n')
    await chown(own, NOBODY.uid, NOBODY.gid)
    await chmod(own, 0o600)
    assert.deepEqual(await readEnvFile(own, NOBODY), { vars: { MINE: '1' } })
  })

  it('readable by owner bits, then the primary group, then everyone', () => {
    const reader = { name: 'app', uid: 1000, gid: 1000 }
    assert.equal(readableBy({ uid: 1000, gid: 0, mode: 0o400 }, reader), true)
    assert.equal(readableBy({ uid: 1000, gid: 0, mode: 0o044 }, reader), false, 'its owner bits decide for the owner')
    assert.equal(readableBy({ uid: 0, gid: 1000, mode: 0o640 }, reader), true)
    assert.equal(readableBy({ uid: 0, gid: 1000, mode: 0o604 }, reader), false, 'the group bits decide for the group')
    assert.equal(readableBy({ uid: 0, gid: 0, mode: 0o644 }, reader), true)
    assert.equal(readableBy({ uid: 0, gid: 0, mode: 0o640 }, reader), false)
  })
})
