/**
 * Files the broker itself is writing: `cmcs run > run.log` inside the repository makes `run.log`
 * an untracked file that grows during every attempt, and it would be committed with the ticket.
 * Such a file is recognised by identity (device and inode of what stdout and stderr point to),
 * not by name, so a file the worker writes is never mistaken for it; a terminal or a pipe is not a
 * file and excludes nothing. Files other processes write meanwhile cannot be told apart from the
 * worker's own (Codex's commands write files no event names), so they are not guessed at.
 */
let _outputs: Set<string> | undefined;

/** `dev:ino` of the regular files this process's stdout and stderr write to (read once). */
export function brokerOutputFiles(): Set<string> {
  if (_outputs) return _outputs;
  _outputs = new Set();
  // node:fs is fetched here, not imported at the top: deno bundle hoists a static import of a
  // built-in to the start of the one-file program, and node:fs costs every command about as long
  // as an empty Deno program (bench/analysis.md, "Start-up").
  const { fstatSync } = globalThis.process.getBuiltinModule("node:fs") as typeof import("node:fs");
  for (const fd of [1, 2]) {
    try {
      const info = fstatSync(fd);
      if (info.isFile()) _outputs.add(`${info.dev}:${info.ino}`);
    } catch { /* closed: nothing written there */ }
  }
  return _outputs;
}

/**
 * An attempt's changes (paths relative to `dir`) without the files the broker's own output goes
 * to. A path that is gone is kept: a deletion is the worker's.
 */
export async function withoutBrokerOutputs<
  T extends { paths: string[]; touchedPreexisting: string[] },
>(dir: string, changes: T): Promise<T> {
  const outputs = brokerOutputFiles();
  if (outputs.size === 0 || changes.paths.length === 0) return changes;
  const ours = new Set<string>();
  await Promise.all(changes.paths.map(async (path) => {
    try {
      const info = await Deno.lstat(`${dir}/${path}`);
      if (outputs.has(`${info.dev}:${info.ino}`)) ours.add(path);
    } catch { /* deleted */ }
  }));
  if (ours.size === 0) return changes;
  return {
    ...changes,
    paths: changes.paths.filter((path) => !ours.has(path)),
    touchedPreexisting: changes.touchedPreexisting.filter((path) => !ours.has(path)),
  };
}
