// One task's details: its history, newest first and only since its latest task.added, and its log tail.
import { eventDetails, longTime } from './format.js'
import * as graph from './graph.js'
import * as table from './task-table.js'

const section = document.querySelector('#details')
let shown = null
let request = null

export function setup(send) {
  request = send
  document.querySelector('#details-close').addEventListener('click', close)
}

export const selected = () => shown

/** The selected task's workflow, drawn again from the tasks as they are now. */
export function redrawGraph() {
  if (shown !== null) graph.render(table.all(), shown, (name) => show(name).catch(() => {}))
}

export function close() {
  shown = null
  section.hidden = true
}

/**
 * A name removed and added again is a new task: the events before its latest task.added belong to the
 * old one. History comes oldest first; if its window holds no task.added, the add is older than the
 * window and every event in it is the current task's.
 */
export function ownEvents(history) {
  const added = history.findLastIndex((e) => e.type === 'task.added')
  return (added === -1 ? history : history.slice(added)).reverse()
}

export async function show(name) {
  const opening = shown !== name
  shown = name
  section.hidden = false
  document.querySelector('#details-name').textContent = name
  redrawGraph()
  const [history, logs] = await Promise.all([
    request('history.list', { task: name, limit: 50 }),
    request('tasks.logs', { name, lines: 50 }).catch(() => ({ out: { text: '' }, err: { text: '' } })),
  ])
  if (shown !== name) return
  const own = ownEvents(history)
  document.querySelector('#details-history').replaceChildren(...own.map((e) => {
    const li = document.createElement('li')
    li.dataset.seq = String(e.seq)
    li.dataset.type = e.type
    const at = document.createElement('time')
    at.dateTime = e.time
    at.textContent = longTime(e.time)
    const type = document.createElement('strong')
    type.textContent = e.type
    li.append(at, ' ', type, ' ', eventDetails(e))
    return li
  }))
  // Log files outlive a remove: before the new task's first run, what they hold is the old task's.
  const ran = own.some((e) => e.type === 'run.started') || own.length === history.length
  document.querySelector('#details-out').textContent = ran ? logs.out.text || '(no output)' : '(no run since it was added)'
  document.querySelector('#details-err').textContent = ran ? logs.err.text : ''
  if (opening) section.scrollIntoView({ block: 'nearest' })
}
