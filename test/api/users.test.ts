// User lookups: once per name however many tasks name it, misses soon retried; and the rule that keeps
// tasks given with a token from running as root.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { apiUserProblem, apiUserRule } from '../../src/api/api-users.js'
import { applyLabel, TaskIntake } from '../../src/api/task-intake.js'
import { DomainError } from '../../src/core/errors.js'
import { FOUND_TTL_MS, MAX_QUERIES, MISSING_TTL_MS, UserDirectory, type Account } from '../../src/runtime/users.js'
import { FIXTURES } from '../helpers/daemon-process.js'
import { FakeClock } from '../helpers/fakes.js'

/** A passwd database of `lines` that counts the lookups asked of it, answering after a tick. */
function countingPasswd(lines: Record<string, string>): { query: (name: string) => Promise<string | null>; asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    query: async (name) => {
      asked.push(name)
      await new Promise((resolve) => setImmediate(resolve))
      return lines[name] ?? null
    },
  }
}

const PASSWD = {
  alice: 'alice:x:1000:1000::/home/alice:/bin/sh',
  root: 'root:x:0:0:root:/root:/bin/bash',
  toor: 'toor:x:0:0::/root:/bin/sh',
}

describe('user directory', () => {
  it('looks a name up once, however many ask at once or later', async () => {
    const passwd = countingPasswd(PASSWD)
    const clock = new FakeClock()
    const users = new UserDirectory(passwd.query, () => clock.now())
    const answers = await Promise.all(Array.from({ length: 100 }, () => users.lookup('alice')))
    assert.deepEqual(answers[99], { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice' })
    clock.advance(FOUND_TTL_MS - 1)
    await users.lookup('alice')
    assert.deepEqual(passwd.asked, ['alice'])
    clock.advance(1)
    await users.lookup('alice')
    assert.deepEqual(passwd.asked, ['alice', 'alice'], 'a found account is looked up again after a while')
  })

  it('finds a user created after a miss, once the short miss time is over', async () => {
    const lines: Record<string, string> = {}
    const passwd = countingPasswd(lines)
    const clock = new FakeClock()
    const users = new UserDirectory(passwd.query, () => clock.now())
    assert.equal(await users.lookup('bob'), null)
    lines['bob'] = 'bob:x:1001:1001::/home/bob:/bin/sh'
    assert.equal(await users.lookup('bob'), null, 'the miss is kept for a moment')
    clock.advance(MISSING_TTL_MS)
    assert.equal((await users.lookup('bob'))?.uid, 1001)
  })

  it('runs at most MAX_QUERIES lookups at once', async () => {
    let running = 0
    let most = 0
    const users = new UserDirectory(async (name) => {
      most = Math.max(most, (running += 1))
      await new Promise((resolve) => setTimeout(resolve, 1))
      running -= 1
      return `${name}:x:1000:1000::/:/bin/sh`
    })
    const found = await Promise.all(Array.from({ length: 50 }, (_, i) => users.lookup(`u${i}`)))
    assert.deepEqual(found.map((a) => a?.name), Array.from({ length: 50 }, (_, i) => `u${i}`))
    assert.equal(most, MAX_QUERIES)
  })

  it('counts a lookup that fails as a miss', async () => {
    const users = new UserDirectory(() => Promise.reject(new Error('getent crashed')))
    assert.equal(await users.lookup('alice'), null)
  })

  it('checks 2,000 tasks naming one user with one lookup', { skip: process.getuid?.() === 0 ? false : 'user checks need root' }, async () => {
    const passwd = countingPasswd(PASSWD)
    const intake = new TaskIntake({ clock: new FakeClock(), totalMemory: 1, users: new UserDirectory(passwd.query) }, applyLabel)
    intake.take(Array.from({ length: 2000 }, (_, i) => ({ name: `t${i}`, script: 'ok.sh', user: 'alice' })), FIXTURES)
    assert.equal((await intake.finish(FIXTURES)).length, 2000)
    assert.deepEqual(passwd.asked, ['alice'])
  })
})

describe('apiUsers rule', () => {
  const account = (name: string, uid: number): Account => ({ name, uid, gid: uid, home: '/' })

  it('applies to tokens on a root daemon only', () => {
    assert.equal(apiUserRule('owner', null, true), null)
    assert.equal(apiUserRule('admin', null, false), null)
    assert.deepEqual(apiUserRule('admin', ['root'], true), { allowed: ['root'] })
  })

  it('by default allows anyone but root: no user, "root", or any uid-0 account', () => {
    const rule = { allowed: null }
    assert.equal(apiUserProblem(rule, 't', 'alice', account('alice', 1000)), null)
    assert.match(apiUserProblem(rule, 't', null, null) ?? '', /^expected a user other than root .*, got none \(task "t" would run as root\)$/)
    assert.match(apiUserProblem(rule, 't', 'root', account('root', 0)) ?? '', /got "root" \(task "t"\)$/)
    assert.match(apiUserProblem(rule, 't', 'toor', account('toor', 0)) ?? '', /got "toor" \(task "t", uid 0\)$/)
  })

  it('with a list allows only its users, and root (by any name) only when it lists root', () => {
    assert.equal(apiUserProblem({ allowed: ['root'] }, 't', null, null), null)
    assert.equal(apiUserProblem({ allowed: ['root', 'toor'] }, 't', 'toor', account('toor', 0)), null)
    assert.match(apiUserProblem({ allowed: ['toor'] }, 't', 'toor', account('toor', 0)) ?? '', /apiUsers allows .*\(toor\), got "toor"/)
    assert.match(apiUserProblem({ allowed: ['alice'] }, 't', 'bob', account('bob', 1001)) ?? '', /\(alice\), got "bob" \(task "t"\)$/)
    assert.equal(apiUserProblem({ allowed: ['alice'] }, 't', 'alice', account('alice', 1000)), null)
  })
})

describe('task intake with the rule', () => {
  it('refuses with forbidden, listing every task, when a task would run as root', async () => {
    const intake = new TaskIntake({ clock: new FakeClock(), totalMemory: 1 }, applyLabel, { allowed: null })
    intake.take([{ name: 'a', script: 'ok.sh' }, { name: 'b', script: 'ok.sh', priority: 'urgent' }, { name: 'c', script: 'ok.sh' }], FIXTURES)
    await assert.rejects(intake.finish(FIXTURES), (error) => {
      assert.ok(error instanceof DomainError)
      assert.equal(error.code, 'forbidden')
      assert.deepEqual(error.message.split('\n').map((line) => line.split(':')[0]), ['tasks[1] (b).priority', 'tasks[0] (a).user', 'tasks[2] (c).user'])
      return true
    })
  })
})
