/** The process table as tests see it, from `ps` (Deno refuses `/proc` reads without --allow-all). */

/** Which of `pids` are live (non-zombie) processes. */
export function livePids(pids: number[]): number[] {
  const out = new Deno.Command("ps", { args: ["-A", "-o", "pid=,stat="], stdin: "null" })
    .outputSync();
  const live = new Set(
    new TextDecoder().decode(out.stdout).split("\n").flatMap((line) => {
      const [pid, stat] = line.trim().split(/\s+/);
      return pid && !stat?.startsWith("Z") ? [Number(pid)] : [];
    }),
  );
  return pids.filter((pid) => live.has(pid));
}
