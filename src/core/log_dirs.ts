/**
 * Each run keeps its evidence under `.cmcs/logs/<run-id>/`. The ids come from the database, but
 * the logs outlive it: after a damaged database is moved aside and `cmcs init` makes a new one, or
 * an older copy is restored, the database would count from 1 again and a new run would write into
 * the directories of an old one. So the directories themselves say which ids are taken.
 */

/**
 * The highest run id that has a log directory (`<logsDir>/<id>/`), 0 when there is none or the
 * directory cannot be read. Names that are not plain numbers (`broker-*.log`, files a person put
 * there) are ignored.
 */
export function highestLoggedRunId(logsDir: string): number {
  let highest = 0;
  try {
    for (const entry of Deno.readDirSync(logsDir)) {
      if (!/^[1-9]\d{0,14}$/.test(entry.name)) continue;
      highest = Math.max(highest, Number(entry.name));
    }
  } catch {
    return highest; // no logs yet (or unreadable: writing the run's logs will say so)
  }
  return highest;
}
