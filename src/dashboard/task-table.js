// The task list: one row per task (a table on wide screens, cards on phones), sorted and filtered in the page.
import { longTime, shortTime, size, timeLeft } from './format.js'

const body = document.querySelector('#tasks tbody')
const tasks = new Map()
const view = { sort: null, dir: 1, text: '', state: '', scope: null, online: false, usage: new Map() }
let hooks = { act: () => {}, details: () => {} }

const STATE_ORDER = ['running', 'ready', 'retrying', 'scheduled', 'failed', 'expired', 'skipped', 'stopped', 'succeeded']
const PRIORITY_ORDER = ['high', 'medium', 'low']
/** Unknown values (a newer daemon's states) sort after the known ones, among themselves by name. */
const rank = (order, value) => {
  const at = order.indexOf(value)
  return at === -1 ? [order.length, String(value)] : [at, '']
}
const SORT_KEYS = {
  name: (t) => [t.name],
  state: (t) => rank(STATE_ORDER, t.state),
  priority: (t) => rank(PRIORITY_ORDER, t.priority),
  next: (t) => [t.nextRunAt ? Date.parse(t.nextRunAt) : null],
  deadline: (t) => [t.deadline ? Date.parse(t.deadline) : null],
  attempts: (t) => [t.attempts],
  last: (t) => [t.lastOutcome ?? null],
}

/** Tasks without the value (no deadline, no run yet) come last in either direction; ties go by name. */
function compare(a, b) {
  const ka = SORT_KEYS[view.sort](a)
  const kb = SORT_KEYS[view.sort](b)
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] === kb[i]) continue
    if (ka[i] === null) return 1
    if (kb[i] === null) return -1
    const order = typeof ka[i] === 'number' && typeof kb[i] === 'number' ? ka[i] - kb[i] : String(ka[i]).localeCompare(String(kb[i]))
    if (order !== 0) return order * view.dir
  }
  return a.name.localeCompare(b.name)
}

/** Every task shown, by name (the workflow graph reads them). */
export const all = () => tasks

export function setup(callbacks) {
  hooks = callbacks
  for (const button of document.querySelectorAll('#tasks th button[data-sort]')) {
    button.addEventListener('click', () => sortBy(button.dataset.sort))
  }
  document.querySelector('#filter').addEventListener('input', (event) => { view.text = event.target.value.trim().toLowerCase(); applyView() })
  document.querySelector('#state-filter').addEventListener('change', (event) => { view.state = event.target.value; applyView() })
  document.querySelector('#sort-select').addEventListener('change', (event) => {
    const [key, dir] = event.target.value.split(':')
    view.sort = key || null
    view.dir = dir === 'desc' ? -1 : 1
    applyView()
  })
}

/** A header click sorts by that column; a second click on it reverses the order. */
function sortBy(key) {
  if (view.sort === key) view.dir = -view.dir
  else { view.sort = key; view.dir = 1 }
  applyView()
}

export function setScope(scope) {
  view.scope = scope
  for (const task of tasks.values()) upsert(task, { live: false })
}

/** Offline, no action can be sent: the buttons say so instead of failing on click. */
export function setOnline(online) {
  view.online = online
  for (const button of body.querySelectorAll('button[data-action]')) button.disabled = !online
}

/** The whole list anew (a fresh start): rows of tasks no longer there go. */
export function replaceAll(list) {
  tasks.clear()
  body.replaceChildren()
  for (const task of list) upsert(task, { live: false })
  applyView()
}

export function remove(name) {
  tasks.delete(name)
  rowOf(name)?.remove()
  applyView()
}

const rowOf = (name) => body.querySelector(`tr[data-task="${CSS.escape(name)}"]`)

function cell(label, text, className, title) {
  const td = document.createElement('td')
  td.dataset.label = label
  td.textContent = text
  td.className = className
  if (text === '-' || text === '') td.classList.add('empty')
  if (title) td.title = title
  return td
}

function usageText(task) {
  const usage = view.usage.get(task.name)
  return usage && task.pid !== null ? `${usage.cpu.toFixed(0)}% / ${size(usage.memory)}` : '-'
}

/** A live change flashes its row and re-applies filter and order; a whole list does that once at its end. */
export function upsert(task, { live = true } = {}) {
  tasks.set(task.name, task)
  let row = rowOf(task.name)
  if (!row) {
    row = document.createElement('tr')
    row.dataset.task = task.name
    row.addEventListener('click', (event) => { if (!event.target.closest('button')) hooks.details(task.name) })
    body.append(row)
  }
  const bumped = task.priority !== task.basePriority
  const deadline = task.deadline ? `${shortTime(task.deadline)} (${timeLeft(task.deadline)})` : '-'
  const last = task.lastOutcome ? `${task.lastOutcome}${task.lastExitCode === null || task.lastExitCode === undefined ? '' : ` (${task.lastExitCode})`}` : '-'
  const name = document.createElement('td')
  name.className = 'name'
  name.dataset.label = 'Name'
  const open = document.createElement('button')
  open.type = 'button'
  open.className = 'link'
  open.textContent = task.name
  open.title = `history and log of ${task.name}`
  open.addEventListener('click', () => hooks.details(task.name))
  name.append(open)
  row.dataset.state = task.state
  row.replaceChildren(
    name,
    cell('State', String(task.state), `state state-${task.state}`),
    cell('Priority', bumped ? `${task.priority} (base ${task.basePriority})` : String(task.priority), bumped && task.priority === 'high' ? 'priority bumped' : 'priority'),
    cell('Next', shortTime(task.nextRunAt), 'next', longTime(task.nextRunAt)),
    cell('Deadline', deadline, task.deadline && task.priority === 'high' && bumped ? 'deadline bumped' : 'deadline', task.deadline ? longTime(task.deadline) : ''),
    cell('Attempts', String(task.attempts), 'attempts'),
    cell('Last', last, 'last'),
    cell('PID', task.pid === null || task.pid === undefined ? '-' : String(task.pid), 'pid', task.node ? `on node ${task.node}` : ''),
    cell('CPU / Mem', usageText(task), 'usage'),
    cell('Waiting', task.waitingReason ?? '', 'waiting'),
    actions(task),
  )
  if (!live) return
  row.classList.remove('flash')
  void row.offsetWidth
  row.classList.add('flash')
  applyView()
}

function actions(task) {
  const td = document.createElement('td')
  td.className = 'admin-only actions'
  td.dataset.label = 'Actions'
  if (view.scope !== 'admin') return td
  const group = document.createElement('div')
  group.className = 'action-group'
  const button = (action, label) => {
    const b = document.createElement('button')
    b.type = 'button'
    b.dataset.action = action
    b.textContent = label
    b.disabled = !view.online
    b.setAttribute('aria-label', `${label} ${task.name}`)
    if (action === 'remove') b.className = 'danger'
    b.addEventListener('click', () => hooks.act(action, task.name))
    group.append(b)
  }
  const finished = ['succeeded', 'failed', 'stopped', 'expired', 'skipped'].includes(task.state)
  if (task.state !== 'running') button('run', 'run')
  if (!finished) button('stop', 'stop')
  if (finished) button('replay', 'replay')
  button('remove', 'remove')
  td.append(group)
  return td
}

/** Running tasks' CPU and memory, from the per-second metrics. */
export function setUsage(running) {
  view.usage = new Map(running.map((r) => [r.task, r]))
  for (const [name, task] of tasks) {
    const td = rowOf(name)?.querySelector('td.usage')
    if (!td) continue
    td.textContent = usageText(task)
    td.classList.toggle('empty', td.textContent === '-')
  }
}

const matches = (task) => (view.state === '' || task.state === view.state)
  && (view.text === '' || task.name.toLowerCase().includes(view.text) || String(task.state).toLowerCase().includes(view.text))

/** Hide what the filter leaves out, put the rest in the chosen order, and say how many there are. */
function applyView() {
  let shown = 0
  for (const [name, task] of tasks) {
    const row = rowOf(name)
    if (!row) continue
    row.hidden = !matches(task)
    if (!row.hidden) shown += 1
  }
  if (view.sort !== null) {
    const ordered = [...tasks.values()].sort(compare).map((t) => rowOf(t.name)).filter(Boolean)
    // Only moved rows are touched: a focused button keeps its focus while the rest stay put.
    ordered.forEach((row, i) => { if (body.children[i] !== row) body.insertBefore(row, body.children[i] ?? null) })
  }
  for (const th of document.querySelectorAll('#tasks th[data-sort-key]')) {
    th.setAttribute('aria-sort', th.dataset.sortKey === view.sort ? (view.dir === 1 ? 'ascending' : 'descending') : 'none')
  }
  const select = document.querySelector('#sort-select')
  select.value = view.sort === null ? '' : `${view.sort}:${view.dir === 1 ? 'asc' : 'desc'}`
  addStateOptions()
  document.querySelector('#task-count').textContent = shown === tasks.size ? `(${tasks.size})` : `(${shown} of ${tasks.size})`
  const empty = document.querySelector('#tasks-empty')
  empty.hidden = shown > 0
  empty.textContent = tasks.size === 0
    ? 'No tasks yet. Add one with: supervisor ctl add NAME --script FILE'
    : 'No task matches the filter.'
}

/** States seen that the filter does not offer yet (a newer daemon's) become options too. */
function addStateOptions() {
  const select = document.querySelector('#state-filter')
  const offered = new Set([...select.options].map((o) => o.value))
  for (const task of tasks.values()) {
    if (offered.has(task.state)) continue
    offered.add(task.state)
    select.append(new Option(task.state, task.state))
  }
}
