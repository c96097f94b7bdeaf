// The live dashboard: one WebSocket, the task list kept up to date by the event stream, no polling.
const $ = (selector) => document.querySelector(selector)
const state = { ws: null, token: null, scope: null, nextId: 1, pending: new Map(), lastSeq: null, metrics: null, selected: null, refreshing: new Set() }

function tokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1))
  return params.get('token') ?? sessionStorage.getItem('supervisor-token')
}

function start() {
  state.token = tokenFromFragment()
  if (state.token) return connect()
  $('#login').hidden = false
  $('#login').addEventListener('submit', (event) => {
    event.preventDefault()
    state.token = $('#token-input').value.trim()
    if (state.token) connect()
  })
}

function setConnection(text, online) {
  const badge = $('#connection')
  badge.textContent = text
  badge.className = `badge ${online ? 'online' : 'offline'}`
}

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`)
  state.ws = ws
  ws.addEventListener('open', () => ws.send(JSON.stringify({ id: 'auth', method: 'auth', params: { token: state.token } })))
  ws.addEventListener('message', (message) => receive(JSON.parse(message.data)))
  ws.addEventListener('close', (event) => {
    for (const { reject } of state.pending.values()) reject(new Error('disconnected'))
    state.pending.clear()
    if (event.code === 4401) {
      setConnection('token refused', false)
      sessionStorage.removeItem('supervisor-token')
      $('#app').hidden = true
      $('#login').hidden = false
      return
    }
    setConnection('reconnecting', false)
    setTimeout(connect, 1000)
  })
}

function receive(message) {
  if (message.id === 'auth') return message.result ? authenticated(message.result.scope) : null
  if (message.event) return onEvent(message.event)
  if (message.metrics) return renderMetrics(message.metrics)
  const waiting = state.pending.get(message.id)
  if (!waiting) return
  state.pending.delete(message.id)
  if (message.error) waiting.reject(new Error(`${message.error.code}: ${message.error.message}`))
  else waiting.resolve(message.result)
}

function request(method, params = {}) {
  const id = state.nextId++
  return new Promise((resolve, reject) => {
    state.pending.set(id, { resolve, reject })
    state.ws.send(JSON.stringify({ id, method, params }))
  })
}

async function authenticated(scope) {
  state.scope = scope
  sessionStorage.setItem('supervisor-token', state.token)
  $('#login').hidden = true
  $('#app').hidden = false
  $('#scope').textContent = scope
  document.body.classList.toggle('admin', scope === 'admin')
  setConnection('live', true)
  // Subscribe first: every event after the list's moment then reaches us, in order, after the list.
  const since = state.lastSeq
  // A daemon whose retention dropped the events we missed refuses `since`: then start afresh.
  const subscribed = await request('events.subscribe', since === null ? {} : { since })
    .catch(() => request('events.subscribe', {}))
  if (state.lastSeq === null) state.lastSeq = subscribed.lastSeq
  renderTasks(await request('tasks.list'))
  renderErrors(await request('errors.list'))
  renderMetrics(await request('metrics.subscribe'))
}

function onEvent(event) {
  state.lastSeq = Math.max(state.lastSeq ?? 0, event.seq)
  if (event.type === 'task.removed') {
    document.querySelector(`tr[data-task="${CSS.escape(event.task)}"]`)?.remove()
    updateCount()
  } else {
    refreshTask(event.task)
  }
  if (event.type === 'run.exited' && event.outcome !== 'succeeded') request('errors.list').then(renderErrors, () => {})
  if (state.selected === event.task) showDetails(event.task)
}

/** Several events of one task in a row cost one request. */
function refreshTask(name) {
  if (state.refreshing.has(name)) return
  state.refreshing.add(name)
  queueMicrotask(() => {
    state.refreshing.delete(name)
    request('tasks.get', { name }).then(upsertRow, () => {})
  })
}

function renderTasks(tasks) {
  $('#tasks tbody').replaceChildren()
  tasks.forEach(upsertRow)
}

function updateCount() {
  $('#task-count').textContent = `(${$('#tasks tbody').children.length})`
}

const time = (iso) => (iso ? new Date(iso).toLocaleString() : '-')
const size = (bytes) => {
  if (bytes == null) return '-'
  const units = ['B', 'K', 'M', 'G', 'T']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1 }
  return `${value.toFixed(value >= 100 || unit === 0 ? 0 : 1)}${units[unit]}`
}

function timeLeft(iso) {
  const ms = Date.parse(iso) - Date.now()
  const abs = Math.abs(ms)
  const text = abs >= 86_400_000 ? `${Math.round(abs / 86_400_000)}d` : abs >= 3_600_000 ? `${Math.round(abs / 3_600_000)}h`
    : abs >= 60_000 ? `${Math.round(abs / 60_000)}m` : `${Math.round(abs / 1000)}s`
  return ms >= 0 ? `in ${text}` : `${text} ago`
}

function cell(text, className) {
  const td = document.createElement('td')
  td.textContent = text
  if (className) td.className = className
  return td
}

function upsertRow(task) {
  const body = $('#tasks tbody')
  let row = body.querySelector(`tr[data-task="${CSS.escape(task.name)}"]`)
  if (!row) {
    row = document.createElement('tr')
    row.dataset.task = task.name
    row.addEventListener('click', (event) => { if (event.target.tagName !== 'BUTTON') showDetails(task.name) })
    body.append(row)
  }
  const usage = state.metrics?.running.find((r) => r.task === task.name)
  const bumped = task.priority !== task.basePriority
  const deadline = task.deadline ? `${time(task.deadline)} (${timeLeft(task.deadline)})` : '-'
  row.dataset.state = task.state
  row.replaceChildren(
    cell(task.name, 'name'),
    cell(task.state, `state state-${task.state}`),
    cell(bumped ? `${task.priority} (base ${task.basePriority})` : task.priority, bumped && task.priority === 'high' ? 'priority bumped' : 'priority'),
    cell(time(task.nextRunAt)),
    cell(deadline, task.deadline && task.priority === 'high' && bumped ? 'deadline bumped' : 'deadline'),
    cell(String(task.attempts), 'attempts'),
    cell(task.lastOutcome ? `${task.lastOutcome}${task.lastExitCode === null ? '' : ` (${task.lastExitCode})`}` : '-', 'last'),
    cell(task.pid === null ? '-' : String(task.pid), 'pid'),
    cell(usage && task.pid !== null ? `${usage.cpu.toFixed(0)}% / ${size(usage.memory)}` : '-', 'usage'),
    cell(task.waitingReason ?? '', 'waiting'),
    actions(task),
  )
  row.classList.remove('flash')
  void row.offsetWidth
  row.classList.add('flash')
  updateCount()
}

function actions(task) {
  const td = document.createElement('td')
  td.className = 'admin-only actions'
  if (state.scope !== 'admin') return td
  const button = (action, label, method) => {
    const b = document.createElement('button')
    b.type = 'button'
    b.dataset.action = action
    b.textContent = label
    b.addEventListener('click', () => request(method, { name: task.name }).catch((error) => alert(error.message)))
    td.append(b)
  }
  const finished = ['succeeded', 'failed', 'stopped'].includes(task.state)
  if (task.state !== 'running') button('run', 'run', 'tasks.run')
  if (task.state === 'running' || !finished) button('stop', 'stop', 'tasks.stop')
  if (finished) button('replay', 'replay', 'tasks.replay')
  button('remove', 'remove', 'tasks.remove')
  return td
}

function renderErrors(groups) {
  const body = $('#errors tbody')
  body.replaceChildren(...groups.map((g) => {
    const row = document.createElement('tr')
    row.append(cell(g.task), cell(g.cause), cell(String(g.count)), cell(time(g.firstSeen)), cell(time(g.lastSeen)), cell(g.stderr.split('\n').at(-1) ?? ''))
    return row
  }))
}

/** The daemon cannot write its log: say so on every page until it can (metrics bring it each second). */
function renderDegraded(degraded) {
  const banner = $('#degraded')
  banner.hidden = !degraded
  banner.textContent = degraded
    ? `Degraded since ${time(degraded.since)}: ${degraded.problem}. Starts and exits are kept and written once the store takes writes again; changes are refused meanwhile.`
    : ''
}

function renderMetrics(metrics) {
  state.metrics = metrics
  renderDegraded(metrics.degraded)
  const { limits } = metrics
  const cpu = metrics.cpuPercent ?? 0
  $('#cpu-bar').style.width = `${Math.min(100, cpu)}%`
  $('#cpu-limit').style.left = `${Math.min(100, limits.maxCpu)}%`
  $('#cpu-text').textContent = `${cpu.toFixed(0)}% (start nothing at ${limits.maxCpu}%)`
  if (metrics.totalBytes && metrics.freeBytes !== null) {
    const used = metrics.totalBytes - metrics.freeBytes
    $('#mem-bar').style.width = `${(100 * used) / metrics.totalBytes}%`
    $('#mem-limit').style.left = `${100 - (100 * limits.minFreeBytes) / metrics.totalBytes}%`
    $('#mem-text').textContent = `${size(metrics.freeBytes)} free of ${size(metrics.totalBytes)} (keep ${size(limits.minFreeBytes)})`
  }
  $('#running-text').textContent = `${metrics.running.length} / ${limits.maxConcurrent}`
  for (const run of metrics.running) {
    const usage = document.querySelector(`tr[data-task="${CSS.escape(run.task)}"] td.usage`)
    if (usage) usage.textContent = `${run.cpu.toFixed(0)}% / ${size(run.memory)}`
  }
}

async function showDetails(name) {
  state.selected = name
  $('#details').hidden = false
  $('#details-name').textContent = name
  const [history, logs] = await Promise.all([
    request('history.list', { task: name, limit: 50 }),
    request('tasks.logs', { name, lines: 50 }).catch(() => ({ out: { text: '' }, err: { text: '' } })),
  ])
  $('#details-history').replaceChildren(...history.map((e) => {
    const li = document.createElement('li')
    const { seq, time: at, type, task, spec, ...rest } = e
    li.textContent = `${time(at)} ${type} ${Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}`
    return li
  }))
  $('#details-out').textContent = logs.out.text || '(no output)'
  $('#details-err').textContent = logs.err.text
}

$('#details-close').addEventListener('click', () => { state.selected = null; $('#details').hidden = true })
start()
