// Task-supplied text made safe for a terminal: control characters shown, never obeyed.

// C0 controls but tab and newline, DEL, and the C1 controls (U+009B is a CSI on some terminals).
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g

/**
 * `text` with every control character but newline and tab written as `\xNN`, so a task's output
 * cannot move the cursor, clear the screen or set the terminal's title. For text mode only: JSON
 * output stays exact.
 */
export function visible(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}
