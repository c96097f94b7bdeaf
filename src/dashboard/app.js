// The live dashboard: one WebSocket, the task list kept up to date by the event stream, no polling.
import { ask, dismiss } from './confirm.js'
import * as details from './details.js'
import { longTime, size } from './format.js'
import * as table from './task-table.js'
import * as timeline from './timeline.js'

const $ = (selector) => document.querySelector(selector)
const state = { ws: null, token: null, scope: null, nextId: 1, pending: new Map(), lastSeq: null, syncing: false, refreshing: new Set() }

function tokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1))
  return params.get('token') ?? sessionStorage.getItem('supervisor-token')
}

function start() {
  table.setup({ act, details: (name) => details.show(name).catch(notice) })
  details.setup(request)
  $('#notice-close').addEventListener('click', () => { $('#notice').hidden = true })
  // The form is also the way back after a refused token, so it listens from the start.
  $('#login').addEventListener('submit', (event) => {
    event.preventDefault()
    state.token = $('#token-input').value.trim()
    $('#token-input').value = ''
    if (state.token) connect()
  })
  state.token = tokenFromFragment()
  if (state.token) return connect()
  $('#login').hidden = false
}

/** Offline, everything shown may be stale and nothing can be done: the page greys out and says so. */
function setConnection(text, online) {
  const badge = $('#connection')
  badge.textContent = text
  badge.className = `badge ${online ? 'online' : 'offline'}`
  document.body.classList.toggle('offline', !online)
  $('#offline').hidden = online || $('#app').hidden
  table.setOnline(online)
  if (!online) dismiss()
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
      // A refused token in the address would be tried again by a reload.
      if (location.hash) history.replaceState(null, '', location.pathname + location.search)
      $('#app').hidden = true
      $('#offline').hidden = true
      $('#login').hidden = false
      return
    }
    setConnection('reconnecting', false)
    setTimeout(connect, 1000)
  })
}

function receive(message) {
  if (message.id === 'auth') return message.result ? authenticated(message.result.scope).catch(resync) : null
  if (message.event) return onEvent(message.event)
  if (message.metrics) return renderMetrics(message.metrics)
  const waiting = state.pending.get(message.id)
  if (!waiting) return
  state.pending.delete(message.id)
  if (message.error) waiting.reject(Object.assign(new Error(`${message.error.code}: ${message.error.message}`), { code: message.error.code }))
  else waiting.resolve(message.result)
}

function request(method, params = {}) {
  if (state.ws?.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected to the daemon'))
  const id = state.nextId++
  return new Promise((resolve, reject) => {
    state.pending.set(id, { resolve, reject })
    state.ws.send(JSON.stringify({ id, method, params }))
  })
}

/** A sync that failed half-way (the connection went): the next connection starts it again. */
function resync(error) {
  if (state.ws?.readyState === WebSocket.OPEN) notice(error)
}

async function authenticated(scope) {
  state.scope = scope
  sessionStorage.setItem('supervisor-token', state.token)
  $('#login').hidden = true
  $('#app').hidden = false
  $('#scope').textContent = scope
  document.body.classList.toggle('admin', scope === 'admin')
  table.setScope(scope)
  await sync()
  setConnection('live', true)
  renderErrors(await request('errors.list'))
  renderMetrics(await request('metrics.subscribe'))
}

/**
 * Subscribe first, then list: every event after the list's moment reaches us, in order, after it.
 * Back from a disconnect, the events missed are replayed (`since`) and each task they touched is fetched
 * again (one that is gone leaves). If the daemon no longer keeps them, or is another daemon whose
 * history is shorter than ours, the page starts afresh: a new subscription and the whole list.
 */
async function sync() {
  const since = state.lastSeq
  state.syncing = true
  state.touched = new Set()
  try {
    if (since !== null) {
      const resumed = await request('events.subscribe', { since }).catch((error) => (error.code === 'invalid' ? null : Promise.reject(error)))
      if (resumed !== null && resumed.lastSeq >= since) {
        state.syncing = false
        for (const name of state.touched) refreshTask(name)
        return
      }
      if (resumed !== null) await request('events.unsubscribe')
    }
    const subscribed = await request('events.subscribe', {})
    state.lastSeq = subscribed.lastSeq
    state.syncing = false
    table.replaceAll(await request('tasks.list'))
    refreshTimeline()
  } finally {
    state.syncing = false
  }
}

/** The timeline follows the events, at most once a second, and moves with the clock every 30 s. */
let timelineDue = null
function refreshTimeline() {
  if (timelineDue !== null) return
  timelineDue = setTimeout(() => {
    timelineDue = null
    request('forecast.list', { horizon: timeline.HORIZON }).then((rows) => timeline.render(rows), () => {})
  }, 1000)
}
setInterval(refreshTimeline, 30_000)

function onEvent(event) {
  state.lastSeq = Math.max(state.lastSeq ?? 0, event.seq)
  if (state.syncing) {
    // Replayed while subscribing: fetched once per task when the replay is done, or covered by the list.
    state.touched.add(event.task)
    if (event.type === 'task.removed') table.remove(event.task)
    return
  }
  // A removal is asked about too: a list answered just after it may still hold the task.
  if (event.type === 'task.removed') {
    table.remove(event.task)
    if (details.selected() === event.task) details.close()
  }
  refreshTask(event.task)
  refreshTimeline()
  if ((event.type === 'run.exited' && event.outcome !== 'succeeded') || event.type === 'task.deadline-missed') request('errors.list').then(renderErrors, () => {})
  if (details.selected() === event.task) details.show(event.task).catch(() => {})
}

/** Several events of one task in a row cost one request; a task that is gone by then leaves the list. */
function refreshTask(name) {
  if (state.refreshing.has(name)) return
  state.refreshing.add(name)
  queueMicrotask(() => {
    state.refreshing.delete(name)
    request('tasks.get', { name }).then((task) => {
      table.upsert(task)
      details.redrawGraph()
    }, (error) => { if (error.code === 'not_found') table.remove(name) })
  })
}

const CONFIRM_REMOVE = (name) => ({
  title: `Remove ${name}?`,
  text: `${name} stops if it is running and leaves the list. Its history is kept; adding it again starts a new task.`,
  confirm: 'Remove',
})
const METHODS = { run: 'tasks.run', stop: 'tasks.stop', replay: 'tasks.replay', remove: 'tasks.remove' }

async function act(action, name) {
  if (action === 'remove' && !(await ask(CONFIRM_REMOVE(name)))) return
  try {
    await request(METHODS[action], { name })
  } catch (error) {
    notice(new Error(`${action} ${name}: ${error.message}`))
  }
}

/** A problem the user should see, in the page (not an alert box that blocks it). */
function notice(error) {
  $('#notice-text').textContent = error.message
  $('#notice').hidden = false
}

function renderErrors(groups) {
  const cell = (label, text) => {
    const td = document.createElement('td')
    td.dataset.label = label
    td.textContent = text
    return td
  }
  $('#errors tbody').replaceChildren(...groups.map((g) => {
    const row = document.createElement('tr')
    row.append(cell('Task', g.task), cell('Cause', g.cause), cell('Count', String(g.count)), cell('First seen', longTime(g.firstSeen)),
      cell('Last seen', longTime(g.lastSeen)), cell('Last stderr', g.stderr.split('\n').at(-1) ?? ''))
    return row
  }))
  $('#errors-empty').hidden = groups.length > 0
}

/** The daemon cannot write its log: say so on every page until it can (metrics bring it each second). */
function renderDegraded(degraded) {
  const banner = $('#degraded')
  banner.hidden = !degraded
  banner.textContent = degraded
    ? `Degraded since ${longTime(degraded.since)}: ${degraded.problem}. Starts and exits are kept and written once the store takes writes again; changes are refused meanwhile.`
    : ''
}

function renderMetrics(metrics) {
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
  table.setUsage(metrics.running)
}

start()
