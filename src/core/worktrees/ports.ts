/** Per-worktree ports (`CMCS_PORT`), handed out from `worktrees.port_range`. */
import { UserError } from "../errors.ts";
import type { Database } from "../db/database.ts";
import { activePorts } from "../db/worktrees.ts";

/** Ports held by active worktree records. */
export function portsInUse(db: Database): Set<number> {
  return new Set(activePorts(db));
}

/** True when nothing listens on `port` on the loopback interface right now. */
export function portFree(port: number): boolean {
  try {
    const listener = Deno.listen({ hostname: "127.0.0.1", port });
    listener.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * The lowest port of `range` that no active worktree holds and nothing listens on. Call it inside
 * the transaction that registers the worktree, so two concurrent `worktree create`s cannot take
 * the same port. Throws a clear error when the range is exhausted.
 */
export function pickPort(
  db: Database,
  range: readonly [number, number],
  isFree: (port: number) => boolean = portFree,
): number {
  const taken = portsInUse(db);
  for (let port = range[0]; port <= range[1]; port++) {
    if (!taken.has(port) && isFree(port)) return port;
  }
  throw new UserError(
    `no free port in worktrees.port_range [${range[0]}, ${
      range[1]
    }]: ${taken.size} held by worktrees, the rest in use`,
    {
      hint:
        "widen worktrees.port_range in .cmcs/config.yml, or clean up worktrees you no longer need",
    },
  );
}
