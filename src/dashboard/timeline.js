// The forecast as a timeline, in plain SVG: the next hours, one row a run (running, then queued and
// scheduled ones at their forecast times), a cron task's later slots as small marks on its row, each
// deadline a marker, runs at risk of missing it in red.
import { longTime } from './format.js'

const SVG = 'http://www.w3.org/2000/svg'
export const HORIZON = '6h'
const HORIZON_MS = 6 * 3_600_000
const ROW = 20
const LABEL = 150
const AXIS = 22
const MAX_ROWS = 40

function el(name, attributes = {}, text) {
  const node = document.createElementNS(SVG, name)
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value))
  if (text !== undefined) node.textContent = text
  return node
}

/** Draws `rows` (`forecast.list` answers) over the horizon from `now`. */
export function render(rows, now = Date.now()) {
  const svg = document.querySelector('#timeline')
  const shown = rows.slice(0, MAX_ROWS)
  const width = Math.max(320, svg.parentElement?.clientWidth ?? 800)
  const height = AXIS + Math.max(1, shown.length) * ROW + 4
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
  svg.setAttribute('height', String(height))
  const span = width - LABEL - 8
  const x = (ms) => LABEL + Math.max(0, Math.min(span, ((ms - now) / HORIZON_MS) * span))
  const parts = []
  // One tick an hour, labelled with the local time.
  for (let h = 0; h <= 6; h += 1) {
    const at = now + h * 3_600_000
    parts.push(el('line', { x1: x(at), x2: x(at), y1: AXIS - 4, y2: height, class: 'tick' }))
    const label = new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    parts.push(el('text', { x: x(at), y: AXIS - 8, class: 'tick-label', 'text-anchor': h === 0 ? 'start' : h === 6 ? 'end' : 'middle' }, label))
  }
  if (shown.length === 0) parts.push(el('text', { x: LABEL, y: AXIS + 14, class: 'muted' }, 'nothing queued in the next 6 hours'))
  shown.forEach((row, i) => {
    const y = AXIS + i * ROW
    const start = Date.parse(row.start)
    const end = row.end === null ? now + HORIZON_MS : Date.parse(row.end)
    const group = el('g', { class: `run${row.running ? ' running' : ' queued'}${row.atRisk ? ' at-risk' : ''}`, 'data-task': row.task })
    group.append(el('text', { x: LABEL - 6, y: y + 14, 'text-anchor': 'end', class: 'run-label' }, row.task.length > 22 ? `${row.task.slice(0, 21)}…` : row.task))
    const bar = el('rect', { x: x(start), y: y + 3, width: Math.max(2, x(end) - x(start)), height: ROW - 6, rx: 3 })
    const deadline = row.deadline === null ? '' : `, deadline ${longTime(row.deadline)}${row.atRisk ? ' (at risk)' : ''}`
    bar.append(el('title', {}, `${row.task}: ${row.running ? 'running since' : 'expected'} ${longTime(row.start)} to ${row.end === null ? 'open end (service)' : longTime(row.end)}${deadline}`))
    group.append(bar)
    for (const slot of row.slots ?? []) {
      const at = Date.parse(slot)
      if (at > now + HORIZON_MS) break
      const mark = el('rect', { x: x(at) - 1.5, y: y + 6, width: 3, height: ROW - 12, class: 'slot' })
      mark.append(el('title', {}, `${row.task}: cron slot ${longTime(slot)}`))
      group.append(mark)
    }
    if (row.deadline !== null && Date.parse(row.deadline) <= now + HORIZON_MS) {
      const at = x(Date.parse(row.deadline))
      group.append(el('line', { x1: at, x2: at, y1: y + 1, y2: y + ROW - 1, class: 'deadline' }))
    }
    parts.push(group)
  })
  if (rows.length > MAX_ROWS) parts.push(el('text', { x: LABEL, y: height - 2, class: 'muted' }, `and ${rows.length - MAX_ROWS} more`))
  svg.replaceChildren(...parts)
  document.querySelector('#timeline-at-risk').textContent = rows.some((r) => r.atRisk) ? `${rows.filter((r) => r.atRisk).length} at risk` : ''
}
