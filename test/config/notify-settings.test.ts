// The `notify` setting at the boundary: each problem named by its field, and a secret never echoed.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseSettings } from '../../src/config/daemon-settings.js'

const name = (key: string): string => `supervisor.${key}`

describe('notify setting', () => {
  it('names the field of each problem', () => {
    assert.throws(() => parseSettings({ notify: [{ url: 'ftp://x', events: ['task.bogus'] }] }, name), (error: Error) => {
      assert.match(error.message, /supervisor\.notify\.0\.url: expected an http\(s\) URL, got "ftp:\/\/x"/)
      assert.match(error.message, /supervisor\.notify\.0\.events\.0: expected an event type .* or \*, got "task\.bogus"/)
      return true
    })
    assert.throws(() => parseSettings({ notify: [{ url: 'https://h/x', events: [] }] }, name), /events: expected at least one event type/)
  })

  it('never echoes a secret, even of the wrong type', () => {
    for (const secret of [987654321, '', ['hunter2']]) {
      assert.throws(() => parseSettings({ notify: [{ url: 'https://h/x', events: ['*'], secret }] }, name), (error: Error) => {
        assert.match(error.message, /supervisor\.notify\.0\.secret: expected a non-empty string/)
        assert.doesNotMatch(error.message, /987654321|hunter2/)
        return true
      })
    }
  })
})
