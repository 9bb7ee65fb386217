import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { StatusView } from './statusView.js';
import { statusPage } from './statusPage.js';

/**
 * HttpServer is a node's plain HTTP port: Prometheus metrics at /metrics, the
 * status page at / (and /status), its data at /status.json. It reads only:
 * nothing here changes the node. A follower's /status.json relays the
 * leader's view (the leader knows every follower's match index) and falls
 * back to its own view, saying why, when no leader is known or the leader's
 * HTTP port does not answer in time.
 */

export interface HttpServerOptions {
  readonly logger: Logger;
  /** metrics renders the Prometheus text exposition. */
  readonly metrics: () => Promise<string>;
  readonly metricsContentType: string;
  /** localView is this node's own view (statusView.ts). */
  readonly localView: () => StatusView;
  /** leaderHttpAddress: the current leader's HTTP address when it is another member and has one, else null. */
  readonly leaderHttpAddress: () => string | null;
  /** relayTimeoutMs bounds the fetch of the leader's view (default 700, under the page's 1 s refresh). */
  readonly relayTimeoutMs?: number;
}

export interface HttpServer {
  /** listen binds "host:port" (port 0 picks one) and resolves with the bound port. */
  listen(address: string): Promise<number>;
  /** close stops accepting and ends open connections (the page's polls); never hangs. */
  close(): Promise<void>;
}

/** LOCAL_PARAM asks a node for its own view only: a relayed request is never relayed again. */
const LOCAL_PARAM = 'local';

export function createHttpServer(o: HttpServerOptions): HttpServer {
  const page = statusPage();
  const relayTimeoutMs = o.relayTimeoutMs ?? 700;

  const statusJson = async (url: URL): Promise<StatusView> => {
    const local = o.localView();
    if (local.view === 'leader' || url.searchParams.has(LOCAL_PARAM)) return local;
    const leader = o.leaderHttpAddress();
    if (leader === null) {
      const why = local.leader === null ? 'no leader is known (an election may be under way)' : `the leader ${local.leader} has no httpAddress in the config`;
      return { ...local, note: `this is ${local.node}'s own view: ${why}` };
    }
    try {
      const res = await fetch(`http://${leader}/status.json?${LOCAL_PARAM}=1`, { signal: AbortSignal.timeout(relayTimeoutMs) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const view = (await res.json()) as StatusView;
      return { ...view, servedBy: local.node };
    } catch (err) {
      return { ...local, note: `this is ${local.node}'s own view: the leader's page at ${leader} did not answer (${(err as Error).message})` };
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'only GET and HEAD are served here\n', { allow: 'GET, HEAD' });
      return;
    }
    switch (url.pathname) {
      case '/metrics':
        send(res, 200, o.metricsContentType, await o.metrics());
        return;
      case '/status.json':
        send(res, 200, 'application/json; charset=utf-8', JSON.stringify(await statusJson(url)), { 'cache-control': 'no-store' });
        return;
      case '/':
      case '/status':
        send(res, 200, 'text/html; charset=utf-8', page.html, { 'content-security-policy': page.contentSecurityPolicy, 'x-frame-options': 'DENY' });
        return;
      case '/favicon.ico':
        res.writeHead(204).end();
        return;
      default:
        send(res, 404, 'text/plain; charset=utf-8', `no page at ${url.pathname.slice(0, 100)}; this port serves / (status page), /status.json and /metrics\n`);
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.logger.error({ err, url: req.url }, 'an HTTP status or metrics request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error; see the node log\n');
      else res.destroy();
    });
  });
  // A scrape or a poll is small: keep idle sockets short and headers bounded.
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.maxHeadersCount = 100;

  return {
    listen(address: string): Promise<number> {
      const colon = address.lastIndexOf(':');
      const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
      const port = Number(address.slice(colon + 1));
      return new Promise<number>((resolve, reject) => {
        const onError = (err: Error): void => reject(new Error(`cannot serve the status page and metrics on ${address}: ${err.message}; pick a free port for httpAddress in the cluster config`));
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          server.on('error', (err) => o.logger.warn({ err }, `the HTTP port ${address} failed: ${err.message}; the status page and metrics may be unavailable`));
          const bound = server.address();
          resolve(typeof bound === 'object' && bound !== null ? bound.port : port);
        });
      });
    },
    close(): Promise<void> {
      return new Promise<void>((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function send(res: ServerResponse, code: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': contentType, 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
