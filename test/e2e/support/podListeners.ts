// The sockets of the pod network stand-in: an HTTP responder per pod address and port, a TCP forwarder per ClusterIP
// port. Every bind and every dial goes through assertLoopback first, so a wrong plan fails loudly instead of touching
// a real network.
import * as http from "node:http";
import * as net from "node:net";
import { assertLoopback, Backend, Forwarder, Responder } from "./podNetworkPlan";

/** A bound socket of the stand-in; `address` is what the kernel reports (server.address()), not what was asked. */
export interface Listening {
  readonly kind: "pod" | "service";
  readonly address: string;
  readonly port: number;
}

export interface Listener {
  readonly listening: Listening;
  close(): Promise<void>;
}

function listen(server: net.Server, ip: string, port: number): Promise<void> {
  assertLoopback(ip, "bind");
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: ip, port, exclusive: true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function bound(kind: Listening["kind"], server: net.Server): Listening {
  const address = server.address() as net.AddressInfo;
  return { kind, address: address.address, port: address.port };
}

/**
 * Answers every request with JSON naming the pod: { service, namespace, pod, path, host, method }. `current` is read
 * per request, so a pod that takes over an address (kwok reuses freed IPs) is named right without a rebind.
 */
export async function startResponder(first: Responder, current: () => Responder): Promise<Listener> {
  const server = http.createServer((req, res) => {
    const r = current();
    const body = JSON.stringify({
      service: r.service,
      namespace: r.namespace,
      pod: r.pod,
      // As received: a prefix a proxy stripped is visibly gone.
      path: req.url ?? "",
      host: req.headers.host ?? "",
      method: req.method ?? "",
    });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  await listen(server, first.ip, first.port);
  return {
    listening: bound("pod", server),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Forwards each connection to the next of `backends()` (round robin), or refuses it when there is none. */
export async function startForwarder(first: Forwarder, backends: () => readonly Backend[]): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  let next = 0;
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    const list = backends();
    if (list.length === 0) {
      client.destroy();
      return;
    }
    const target = list[next++ % list.length];
    const upstream = net.connect({ host: assertLoopback(target.ip, "connect to"), port: target.port });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    // A pod that went away mid-connection resets it, as a dead endpoint would.
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  await listen(server, first.ip, first.port);
  return {
    listening: bound("service", server),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
