import { print, printError } from "../cli/output.ts";
import type { Hono } from "hono";
import { UsageError, UserError } from "../cli/errors.ts";
import { loadConfig } from "../core/config.ts";
import { Database } from "../core/db/database.ts";
import { requireProject } from "../core/project.ts";
import { recoverOrphans } from "../core/recovery.ts";
import { createApp } from "../../routes/_app.tsx";
import { isLoopbackHost } from "../dashboard/security.ts";

export interface DashboardCommandOptions {
  port?: number;
  host?: string;
  open?: boolean;
  allowRemote?: boolean;
  allowedHost?: string[];
}

/** How often runs whose broker died are marked `interrupted` while the dashboard is open. */
const RECOVERY_INTERVAL_MS = 5000;

/**
 * `cmcs dashboard`: serves the live dashboard of the current project until Ctrl-C. It listens on
 * `dashboard.host`/`dashboard.port` from the config (127.0.0.1:4173) unless `--host`/`--port` say
 * otherwise (`--port 0` picks a free port); an address other than loopback needs `--allow-remote`
 * and gets a warning, because the dashboard has no login. Prints the URL; `--open` also opens it
 * in the default browser (a failure to do so is only a warning).
 */
export async function dashboard(opts: DashboardCommandOptions): Promise<number> {
  const project = await requireProject(Deno.cwd());
  const loaded = await loadConfig(project);
  for (const warning of loaded.warnings) printError(`warning: ${warning}`);
  const host = opts.host ?? loaded.config.dashboard.host;
  const port = opts.port ?? loaded.config.dashboard.port;
  if (port > 65535) throw new UsageError(`port ${port} is out of range`, "pass --port 1-65535");
  const remote = !isLoopbackHost(host);
  if (remote && !opts.allowRemote) {
    throw new UsageError(
      `refusing to serve the dashboard on ${host}: it is not a loopback address`,
      "anyone who can reach it could read the logs and stop runs; pass --allow-remote to do it anyway",
    );
  }

  const db = Database.open(project.dbPath);
  const controller = new AbortController();
  const recovery = setInterval(() => void recoverOrphans(db).catch(() => {}), RECOVERY_INTERVAL_MS);
  try {
    await recoverOrphans(db);
    let app: Hono | null = null;
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve(
        { hostname: host, port, signal: controller.signal, onListen: () => {} },
        (request) => app!.fetch(request),
      );
    } catch (error) {
      throw listenError(error, host, port);
    }
    const actualPort = server.addr.port;
    app = createApp({
      project,
      db,
      token: randomToken(),
      port: actualPort,
      allowRemote: opts.allowRemote ?? false,
      allowedHosts: opts.allowedHost ?? [],
      signal: controller.signal,
    });
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${actualPort}/`;
    if (remote) {
      printError(
        `warning: serving on ${host}: anyone who can reach this address can read the logs and stop runs (there is no login)`,
      );
    }
    print(`cmcs dashboard for ${project.root}: ${url}`);
    print("press Ctrl-C to stop");
    if (opts.open) openBrowser(url);
    await untilInterrupted(server.finished);
    controller.abort();
    await server.finished;
    return 0;
  } finally {
    clearInterval(recovery);
    controller.abort();
    db.close();
  }
}

function listenError(error: unknown, host: string, port: number): Error {
  if (error instanceof Deno.errors.AddrInUse) {
    return new UserError(`port ${port} is in use`, {
      hint: `pick another with --port, e.g. \`cmcs dashboard --port ${
        port + 1
      }\` (--port 0 picks a free one)`,
    });
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new UserError(`cannot listen on ${host}: no such address on this machine`, {
      hint: "pass --host 127.0.0.1",
    });
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new UserError(`not allowed to listen on ${host}:${port}`, {
      hint: "ports below 1024 need privileges; pass --port 4173",
    });
  }
  return new UserError(`cannot listen on ${host}:${port}: ${(error as Error).message}`);
}

/** 32 random bytes as hex: the per-process CSRF token. */
function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Resolves on Ctrl-C or SIGTERM (or when the server stops by itself). */
async function untilInterrupted(finished: Promise<void>): Promise<void> {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  let resolve = () => {};
  const interrupted = new Promise<void>((r) => resolve = r);
  for (const signal of signals) Deno.addSignalListener(signal, resolve);
  try {
    await Promise.race([interrupted, finished]);
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, resolve);
  }
}

/** Opens `url` in the default browser; a missing opener or its failure is only a warning. */
function openBrowser(url: string): void {
  const [command, ...args] = Deno.build.os === "darwin"
    ? ["open", url]
    : Deno.build.os === "windows"
    ? ["cmd", "/c", "start", "", url]
    : ["xdg-open", url];
  const warn = (why: string) =>
    printError(`warning: could not open a browser (${why}); open ${url} yourself`);
  try {
    const child = new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.status.then((status) => {
      if (!status.success) warn(`${command} exited with ${status.code}`);
    }).catch(() => {});
  } catch (error) {
    warn(error instanceof Deno.errors.NotFound ? `${command} not found` : String(error));
  }
}
