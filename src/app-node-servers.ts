/**
 * Apps served through a node:http server's own listeners: a server exported as made
 * (`http.createServer(app)`), and the frameworks that own one (Fastify, hapi, NestJS), booted and
 * closed by their own methods. Used by toLoadedApp (app-shapes.ts).
 */
import type { LoadedApp } from "./app.ts";
import { AppLoadError } from "./errors.ts";
import type { NodeRequestListener, NodeUpgradeListener } from "./runtime/adapter.ts";

/** `app.upgrade = (req, socket, head) => ...` on a node-interface app. */
export function upgradeOf(holder: Record<string, unknown>): NodeUpgradeListener | undefined {
  const upgrade = holder.upgrade;
  return typeof upgrade === "function" ? (upgrade.bind(holder) as NodeUpgradeListener) : undefined;
}

/** The part of a node:http (or https) Server read here. */
interface NodeServerLike {
  listen: (...args: unknown[]) => unknown;
  listeners(event: string): ((...args: unknown[]) => unknown)[];
  listening?: boolean;
  address(): unknown;
}

export function isNodeServer(holder: Record<string, unknown>): boolean {
  return (
    typeof holder.listen === "function" &&
    typeof holder.listeners === "function" &&
    typeof holder.address === "function"
  );
}

/** `value` when it is a node:http server (a framework's `server` or `listener` property), else null. */
function asNodeServer(value: unknown): Record<string, unknown> | null {
  if (typeof value !== "object" || value === null) return null;
  return isNodeServer(value as Record<string, unknown>) ? (value as Record<string, unknown>) : null;
}

/**
 * An http.Server the app made and exported (`export default http.createServer(app)`; socket.io
 * and ws attach to one): served through its own 'request' and 'upgrade' listeners, read as each
 * event comes, so what attaches later (engine.io replaces the request listeners) counts. One that
 * already listens (its listen() ran at import) is refused: it would serve beside tsuv, and in a
 * second worker fail on the port in use.
 */
export function nodeServerApp(
  holder: Record<string, unknown>,
  moduleLabel: string,
  hooks: Pick<LoadedApp, "startup" | "shutdown" | "websocket">,
): LoadedApp {
  const server = holder as unknown as NodeServerLike;
  if (server.listening) {
    const address = server.address() as { port?: number } | string | null;
    const where = typeof address === "string" ? address : `port ${address?.port}`;
    throw new AppLoadError(
      `Error loading app. "${moduleLabel}" is a server that already listens (on ${where}): its listen() ran as the module loaded. tsuv listens for it: export the server without calling listen(), or call it only when run directly.`,
    );
  }
  if (server.listeners("request").length === 0) {
    throw new AppLoadError(
      `Error loading app. "${moduleLabel}" is a server with no 'request' listener: create it with its handler (http.createServer(handler)).`,
    );
  }
  const emit =
    (event: string) =>
    (...args: unknown[]): void => {
      for (const listener of server.listeners(event)) listener.apply(server, args);
    };
  return {
    interface: "node",
    node: emit("request") as NodeRequestListener,
    ...hooks,
    nodeUpgrade:
      server.listeners("upgrade").length > 0 ? (emit("upgrade") as NodeUpgradeListener) : undefined,
    detectedBy: "a node:http server (its 'request' listeners)",
    // An own ALPNProtocols is what an https (tls) Server has and an http one lacks on Node, Bun and
    // Deno alike; Bun's https.Server is neither a tls.Server nor has setSecureContext.
    ...("ALPNProtocols" in server ? { ignoredHttpsServer: true } : {}),
  };
}

/**
 * A framework instance that makes its own http.Server and boots before serving: tsuv serves that
 * server's listeners (the server never listens here), runs the boot as the app's startup and the
 * close as its shutdown, and under `--lifespan off` (which runs no startup) the first requests wait
 * for the boot, since routes a plugin adds do not exist before it.
 */
interface ServerOwner {
  /** The framework's http.Server, made with the instance. */
  server: Record<string, unknown>;
  boot(): unknown;
  close(): unknown;
  detectedBy: string;
}

/**
 * A Fastify instance (`export default Fastify()`): a thenable (`await app` waits for its plugins),
 * so it was refused as a Promise. `app.server`; ready() boots (plugins, routes), close() runs its
 * onClose hooks.
 */
function fastifyOwner(holder: Record<string, unknown>): ServerOwner | null {
  const { ready, routing, close, server } = holder;
  if (typeof ready !== "function" || typeof routing !== "function" || typeof close !== "function")
    return null;
  const nodeServer = asNodeServer(server);
  if (!nodeServer) return null;
  return {
    server: nodeServer,
    boot: () => ready.call(holder),
    close: () => close.call(holder),
    detectedBy: "a Fastify instance (its server's listeners; ready() and close())",
  };
}

/**
 * A hapi server (`export default Hapi.server()`): `server.listener`; initialize() boots (caches,
 * onPreStart extensions) without listening, stop() runs onPreStop/onPostStop and stops the caches.
 */
function hapiOwner(holder: Record<string, unknown>): ServerOwner | null {
  const { initialize, stop, route, listener } = holder;
  if (typeof initialize !== "function" || typeof stop !== "function" || typeof route !== "function")
    return null;
  const nodeServer = asNodeServer(listener);
  if (!nodeServer) return null;
  return {
    server: nodeServer,
    boot: () => initialize.call(holder),
    close: () => stop.call(holder),
    detectedBy: "a hapi server (its listener's listeners; initialize() and stop())",
  };
}

/**
 * A NestJS application (`await NestFactory.create(AppModule)`, from an async --factory or a top-level
 * await): its HTTP adapter's server (`getHttpServer()`, made with the application); init() registers
 * the routes and runs onModuleInit/onApplicationBootstrap, close() the shutdown hooks.
 */
function nestOwner(holder: Record<string, unknown>): ServerOwner | null {
  const { getHttpServer, getHttpAdapter, init, close } = holder;
  if (
    typeof getHttpServer !== "function" ||
    typeof getHttpAdapter !== "function" ||
    typeof init !== "function" ||
    typeof close !== "function"
  )
    return null;
  const server = asNodeServer(getHttpServer.call(holder));
  if (!server) return null;
  return {
    server,
    boot: async () => {
      await init.call(holder);
      // Nest's FastifyAdapter leaves the Fastify instance to its listen() to make ready (its hook
      // lists are built then: every request was a TypeError in fastify/lib/hooks.js before). Nest's
      // serverless recipe calls ready() too; an Express instance has none.
      const instance = (
        getHttpAdapter.call(holder) as { getInstance?: () => unknown } | null
      )?.getInstance?.();
      const fastify =
        typeof instance === "object" && instance !== null
          ? fastifyOwner(instance as Record<string, unknown>)
          : null;
      await fastify?.boot();
    },
    close: () => close.call(holder),
    detectedBy: "a NestJS application (its HTTP server's listeners; init() and close())",
  };
}

export function serverOwnerApp(owner: ServerOwner, moduleLabel: string): LoadedApp {
  let booting: Promise<unknown> | undefined;
  let booted = false;
  // Once booted (by the startup hook, or by the first request under --lifespan off), requests go
  // straight to the server's listeners.
  const boot = () => {
    booting ??= Promise.resolve(owner.boot()).then(() => {
      booted = true;
    });
    return booting;
  };
  const app = nodeServerApp(owner.server, moduleLabel, {
    startup: boot,
    shutdown: owner.close,
    websocket: undefined,
  });
  const serve = app.node as NodeRequestListener;
  const node: NodeRequestListener = (req, res) => {
    if (booted) return serve(req, res);
    boot().then(
      () => serve(req, res),
      (error) => res.destroy(error),
    );
  };
  return { ...app, node, detectedBy: owner.detectedBy };
}

/** The framework that owns `holder`'s server (Fastify, hapi, NestJS), or null. */
export function serverOwnerOf(holder: Record<string, unknown>): ServerOwner | null {
  return fastifyOwner(holder) ?? hapiOwner(holder) ?? nestOwner(holder);
}
