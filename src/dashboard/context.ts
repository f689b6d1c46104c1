import type { Database } from "../core/db/database.ts";
import type { Project } from "../core/project.ts";

/** What {@link createApp} needs: the project whose `.cmcs/` it shows and its open database. */
export interface DashboardOptions {
  project: Project;
  db: Database;
  /** The per-process CSRF token every state-changing request must carry. */
  token: string;
  /** The port the server listens on; when set, a `Host` header with another port is refused. */
  port?: number;
  /**
   * The user bound a non-loopback address on purpose (`--allow-remote`): a `Host` that is an IP
   * address is served too. A host *name* never is unless listed in `allowedHosts`, so a hostile
   * site that points its own name at this machine (DNS rebinding) is still refused.
   */
  allowRemote?: boolean;
  /** Host names served besides the loopback ones (`--allowed-host`), lower-case, without port. */
  allowedHosts?: string[];
  /** Aborted when the server shuts down: ends the open event and log streams. */
  signal?: AbortSignal;
  /** How often the streams look for new events and log output (default 250 ms). */
  pollMs?: number;
  /** Seconds a stopped worker gets between SIGTERM and SIGKILL (default: the config's). */
  stopGraceS?: number;
}

/** The options with defaults applied, handed to every route. */
export interface DashboardContext {
  project: Project;
  db: Database;
  token: string;
  port: number | undefined;
  allowRemote: boolean;
  allowedHosts: string[];
  signal: AbortSignal;
  pollMs: number;
  stopGraceS: number | undefined;
}

export function dashboardContext(options: DashboardOptions): DashboardContext {
  return {
    project: options.project,
    db: options.db,
    token: options.token,
    port: options.port,
    allowRemote: options.allowRemote ?? false,
    allowedHosts: (options.allowedHosts ?? []).map((name) => name.toLowerCase()),
    signal: options.signal ?? new AbortController().signal,
    pollMs: options.pollMs ?? 250,
    stopGraceS: options.stopGraceS,
  };
}
