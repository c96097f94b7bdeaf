// The HTTP listener: the dashboard page and its assets, a health check, Prometheus metrics (with a
// token); /ws upgrades elsewhere.
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { DaemonContext } from './context.js'
import { connectionBound, HTTP_TIMEOUTS, softOpenFiles, type HttpTimeouts } from './listener-bounds.js'
import { publicProblem } from './daemon-info.js'

/** The dashboard's files ship as they are (no build step): src/dashboard, beside the compiled dist. */
const DASHBOARD = new URL('../../../src/dashboard/', import.meta.url)
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/confirm.js': { file: 'confirm.js', type: 'text/javascript; charset=utf-8' },
  '/details.js': { file: 'details.js', type: 'text/javascript; charset=utf-8' },
  '/format.js': { file: 'format.js', type: 'text/javascript; charset=utf-8' },
  '/graph.js': { file: 'graph.js', type: 'text/javascript; charset=utf-8' },
  '/task-table.js': { file: 'task-table.js', type: 'text/javascript; charset=utf-8' },
  '/timeline.js': { file: 'timeline.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
}

const SECURITY_HEADERS = {
  // The page talks only to its own origin; nothing inline, nothing from elsewhere, never framed.
  'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

function loadAssets(): Map<string, { body: Buffer; type: string }> {
  const loaded = new Map<string, { body: Buffer; type: string }>()
  for (const [path, { file, type }] of Object.entries(ASSETS)) loaded.set(path, { body: readFileSync(new URL(file, DASHBOARD)), type })
  return loaded
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', ...SECURITY_HEADERS })
  res.end(JSON.stringify(body))
}

/** Prometheus text, for a `read` (or `admin`) token given as `Authorization: Bearer TOKEN`. */
function serveMetrics(ctx: Pick<DaemonContext, 'tokens' | 'metrics'>, req: IncomingMessage, res: ServerResponse): void {
  const header = req.headers.authorization
  const grant = header === undefined ? null : ctx.tokens.verify(/^Bearer\s+(\S+)$/i.exec(header)?.[1])
  if (grant === null) {
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="supervisor"', ...SECURITY_HEADERS })
    res.end(JSON.stringify({ error: { code: 'unauthorized', message: 'metrics need a read or admin token: Authorization: Bearer TOKEN' } }))
    return
  }
  const { metrics } = ctx
  if (metrics === undefined) return json(res, 404, { error: { code: 'not_found', message: 'no metrics in this daemon' } })
  metrics.text().then(
    (body) => {
      res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store', ...SECURITY_HEADERS })
      res.end(req.method === 'HEAD' ? undefined : body)
    },
    (error: unknown) => json(res, 500, { error: { code: 'internal', message: `metrics: ${(error as Error).message}` } }),
  )
}

/** `timeouts` are for tests; the bound comes from the `maxConnections` setting and the open-files limit. */
export async function listenHttp(
  ctx: Pick<DaemonContext, 'supervisor' | 'settings' | 'tokens' | 'metrics'>, host: string, port: number, timeouts: HttpTimeouts = HTTP_TIMEOUTS,
): Promise<Server> {
  const assets = loadAssets()
  const server = createServer({
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionsCheckingInterval: timeouts.checkEveryMs,
  }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: { code: 'invalid', message: 'GET only' } })
    const asset = assets.get(path)
    if (asset !== undefined) {
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache', ...SECURITY_HEADERS })
      res.end(req.method === 'HEAD' ? undefined : asset.body)
      return
    }
    if (path === '/favicon.ico') {
      res.writeHead(204, SECURITY_HEADERS)
      res.end()
      return
    }
    if (path === '/health') {
      const { state, degraded } = ctx.supervisor
      // Counts only: task data needs a token (WebSocket API) or the control socket.
      const counts = { tasks: state.tasks.size, ready: state.ready.size, running: state.running.size }
      if (degraded === null) return json(res, 200, { status: 'ok', ...counts })
      // 503, so that a monitor that looks only at the status code notices too.
      return json(res, 503, { status: 'degraded', since: degraded.since, problem: publicProblem(degraded.problem), ...counts })
    }
    if (path === '/metrics') return serveMetrics(ctx, req, res)
    json(res, 404, { error: { code: 'not_found', message: `no such path ${path}` } })
  })
  // Connections past the bound are closed as they arrive; WebSocket connections count until they close.
  server.maxConnections = connectionBound(softOpenFiles(), ctx.settings.maxConnections)
  // Silent sockets go; the WebSocket server lifts this from the connections it takes over.
  server.timeout = timeouts.idleMs
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return server
}
