// How the dashboard writes times, sizes and event details: short enough for a table cell or a phone card.
const pad = (n) => String(n).padStart(2, '0')

/** A full local date and time, for tooltips and history lines. */
export const longTime = (iso) => (iso ? new Date(iso).toLocaleString() : '-')

/** Today's times as 14:05:09, other days as 2026-12-03 14:05: a table cell stays narrow. */
export function shortTime(iso) {
  if (!iso) return '-'
  const at = new Date(iso)
  const clock = `${pad(at.getHours())}:${pad(at.getMinutes())}`
  if (at.toDateString() === new Date().toDateString()) return `${clock}:${pad(at.getSeconds())}`
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${clock}`
}

export function size(bytes) {
  if (bytes == null) return '-'
  const units = ['B', 'K', 'M', 'G', 'T']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1 }
  return `${value.toFixed(value >= 100 || unit === 0 ? 0 : 1)}${units[unit]}`
}

export function timeLeft(iso) {
  const ms = Date.parse(iso) - Date.now()
  const abs = Math.abs(ms)
  const text = abs >= 86_400_000 ? `${Math.round(abs / 86_400_000)}d` : abs >= 3_600_000 ? `${Math.round(abs / 3_600_000)}h`
    : abs >= 60_000 ? `${Math.round(abs / 60_000)}m` : `${Math.round(abs / 1000)}s`
  return ms >= 0 ? `in ${text}` : `${text} ago`
}

/** An event's own fields (not its seq, time, type, task or spec) as k=v words. */
export function eventDetails(event) {
  const { seq, time, type, task, spec, ...rest } = event
  return Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')
}
