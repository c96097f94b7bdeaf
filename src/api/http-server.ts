// The HTTP listener: health now; the WebSocket API and the dashboard share it.
import { createServer, type Server } from 'node:http'
import type { DaemonContext } from './context.js'

export async function listenHttp(ctx: DaemonContext, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' })
      const { state } = ctx.supervisor
      // Counts only: task data needs a token (WebSocket API) or the control socket.
      res.end(JSON.stringify({ status: 'ok', tasks: state.tasks.size, ready: state.ready.size, running: state.running.size }))
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: { code: 'not_found', message: `no such path ${path}` } }))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return server
}
