import { connect, createServer, type Server, type Socket } from 'node:net';
import { after } from 'node:test';

/**
 * A TCP relay in front of PostgreSQL that a test owns. Cutting it drops every connection and
 * refuses new ones, which is what a server restart (or a network outage) looks like from the
 * service, without touching the PostgreSQL server other tests share.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let accepted = 0;
  let dropOn: string | undefined;
  const listen = async () => {
    if (server?.listening) return;
    const current = createServer((client) => {
      // A connection already queued when the cut began is dropped like the others.
      if (current !== server || !current.listening) return void client.destroy();
      accepted++;
      const upstream = connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      upstream.pipe(client);
      client.on('data', (chunk: Buffer) => {
        // The connection dies as the statement leaves, so the service learns of it from that statement.
        if (dropOn !== undefined && chunk.includes(dropOn)) {
          dropOn = undefined;
          client.destroy();
          upstream.destroy();
          return;
        }
        if (!upstream.write(chunk)) {
          client.pause();
          upstream.once('drain', () => client.resume());
        }
      });
      client.on('end', () => upstream.end());
    });
    server = current;
    // The same port again, so the service's connection string stays valid across the outage.
    await new Promise<void>((resolve) => current.listen(port, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  };
  const cut = async () => {
    if (!server?.listening) return;
    // Not waiting for close's callback: under load it can wait on a connection mid-accept.
    const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 200))]);
  };
  await listen();
  after(cut);
  return {
    port: () => port,
    /** Connections accepted so far (a reconnect after an outage shows here). */
    accepted: () => accepted,
    /** Drops every connection and refuses new ones until `restore`. */
    cut,
    /** Drops the one connection that next sends `text` (a statement), before it reaches PostgreSQL. */
    dropWhenSent: (text: string) => {
      dropOn = text;
    },
    restore: listen,
  };
}

/** `url` with its host and port replaced by the proxy's. */
export function viaProxy(url: string, proxyPort: number): string {
  const through = new URL(url);
  through.hostname = '127.0.0.1';
  through.port = String(proxyPort);
  return through.toString();
}
