// Task-supplied text in text mode: control characters are shown, never passed to the terminal.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { visible } from '../../src/cli/visible.js'

describe('visible', () => {
  it('shows ESC, BEL, CR, DEL and C1 controls as \\xNN', () => {
    assert.equal(visible('\u001b]0;pwned\u0007 \u001b[2J'), '\\x1b]0;pwned\\x07 \\x1b[2J')
    assert.equal(visible('a\rb\u007fc\u009bd\u0000'), 'a\\x0db\\x7fc\\x9bd\\x00')
  })
  it('keeps newlines, tabs and printable text (Unicode included) as they are', () => {
    const text = 'line 1\n\tindented — é ✓ 日本\n'
    assert.equal(visible(text), text)
  })
})
