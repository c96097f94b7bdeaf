// A selected task's workflow as plain SVG: its prerequisites (`after`, upstream) to the left, the tasks
// after it (downstream) to the right, in layers by longest path; its trigger targets (`onSuccess`,
// `onFailure`) one step right, dashed. Names are drawn with textContent only.
const SVG = 'http://www.w3.org/2000/svg'
const MAX_NODES = 40
const BOX_W = 130
const BOX_H = 34
const GAP_X = 46
const GAP_Y = 14

/**
 * The layout of `name`'s neighbourhood among `tasks` (task views by name): nodes with a layer (negative
 * upstream, 0 the task, positive downstream) and a row, and the edges. Deterministic; at most MAX_NODES.
 */
export function layout(tasks, name) {
  const dependents = new Map()
  for (const task of tasks.values()) {
    for (const before of task.after ?? []) {
      if (!dependents.has(before)) dependents.set(before, [])
      dependents.get(before).push(task.name)
    }
  }
  const layers = new Map([[name, 0]])
  const edges = []
  let more = 0
  // Longest path in each direction, breadth first with relaxation (the graph has no cycles: refused).
  const walk = (next, sign) => {
    const queue = [name]
    while (queue.length > 0) {
      const at = queue.shift()
      for (const other of next(at)) {
        const depth = layers.get(at) + sign
        edges.push(sign < 0 ? { from: other, to: at, kind: 'after' } : { from: at, to: other, kind: 'after' })
        const known = layers.get(other)
        if (known !== undefined && Math.abs(known) >= Math.abs(depth)) continue
        if (known === undefined && layers.size >= MAX_NODES) { more += 1; continue }
        layers.set(other, depth)
        queue.push(other)
      }
    }
  }
  walk((at) => [...(tasks.get(at)?.after ?? [])].sort(), -1)
  walk((at) => [...(dependents.get(at) ?? [])].sort(), 1)
  const self = tasks.get(name)
  for (const [kind, list] of [['success', self?.onSuccess ?? []], ['failure', self?.onFailure ?? []]]) {
    for (const target of list) {
      if (!layers.has(target)) {
        if (layers.size >= MAX_NODES) { more += 1; continue }
        layers.set(target, 1)
      }
      edges.push({ from: name, to: target, kind })
    }
  }
  const unique = new Map(edges.map((e) => [`${e.from}>${e.to}>${e.kind}`, e]))
  const rows = new Map()
  const nodes = [...layers.entries()]
    .sort(([a, la], [b, lb]) => la - lb || a.localeCompare(b))
    .map(([node, layer]) => {
      const row = rows.get(layer) ?? 0
      rows.set(layer, row + 1)
      const task = tasks.get(node)
      return { name: node, layer, row, state: task?.state ?? 'missing', missing: task === undefined }
    })
  return { nodes, edges: [...unique.values()].filter((e) => layers.has(e.from) && layers.has(e.to)), more }
}

function el(name, attributes = {}, text) {
  const node = document.createElementNS(SVG, name)
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value))
  if (text !== undefined) node.textContent = text
  return node
}

/** Draws `name`'s graph into #graph; `select(name)` is called when a box is clicked. */
export function render(tasks, name, select) {
  const svg = document.querySelector('#graph')
  const empty = document.querySelector('#graph-empty')
  const { nodes, edges, more } = layout(tasks, name)
  const alone = nodes.length === 1 && edges.length === 0
  svg.hidden = alone
  empty.hidden = !alone
  if (alone) return svg.replaceChildren()
  const min = Math.min(...nodes.map((n) => n.layer))
  const rows = Math.max(...nodes.map((n) => n.row)) + 1
  const at = new Map(nodes.map((n) => [n.name, { x: 8 + (n.layer - min) * (BOX_W + GAP_X), y: 8 + n.row * (BOX_H + GAP_Y) }]))
  const width = 16 + (Math.max(...nodes.map((n) => n.layer)) - min + 1) * (BOX_W + GAP_X) - GAP_X
  const height = 16 + rows * (BOX_H + GAP_Y) - GAP_Y + (more > 0 ? 18 : 0)
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
  svg.setAttribute('width', String(width))
  svg.setAttribute('height', String(height))
  const marker = el('marker', { id: 'graph-arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' })
  marker.append(el('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow-head' }))
  const parts = [el('defs', {}, undefined)]
  parts[0].append(marker)
  for (const edge of edges) {
    const from = at.get(edge.from)
    const to = at.get(edge.to)
    const line = el('path', {
      d: `M ${from.x + BOX_W} ${from.y + BOX_H / 2} C ${from.x + BOX_W + GAP_X / 2} ${from.y + BOX_H / 2}, ${to.x - GAP_X / 2} ${to.y + BOX_H / 2}, ${to.x} ${to.y + BOX_H / 2}`,
      class: `edge edge-${edge.kind}`, 'marker-end': 'url(#graph-arrow)', 'data-from': edge.from, 'data-to': edge.to, 'data-kind': edge.kind,
    })
    line.append(el('title', {}, edge.kind === 'after' ? `${edge.to} runs after ${edge.from}` : `${edge.from} on ${edge.kind}: ${edge.to}`))
    parts.push(line)
  }
  for (const node of nodes) {
    const { x, y } = at.get(node.name)
    const group = el('g', { class: `node state-${node.state}${node.name === name ? ' selected' : ''}${node.missing ? ' missing' : ''}`, 'data-task': node.name, 'data-state': node.state, tabindex: node.missing ? -1 : 0 })
    group.append(el('rect', { x, y, width: BOX_W, height: BOX_H, rx: 5 }))
    const label = node.name.length > 18 ? `${node.name.slice(0, 17)}…` : node.name
    group.append(el('text', { x: x + 8, y: y + 14, class: 'node-name' }, label))
    group.append(el('text', { x: x + 8, y: y + 28, class: 'node-state' }, node.missing ? 'not found' : node.state))
    group.append(el('title', {}, `${node.name}: ${node.missing ? 'no such task (removed?)' : node.state}`))
    if (!node.missing && node.name !== name) group.addEventListener('click', () => select(node.name))
    parts.push(group)
  }
  if (more > 0) parts.push(el('text', { x: 8, y: height - 4, class: 'muted' }, `+${more} more`))
  svg.replaceChildren(...parts)
}
