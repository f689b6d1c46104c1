import { commandPath } from "../core/command_words.ts";
import { printReport, type Report } from "../cli/report.ts";
import { recoverOrphans } from "../core/recovery.ts";
import { buildResultPacket } from "../core/review/result_packet.ts";
import { type ResultJson, resultJson } from "../core/review/result_json.ts";
import { renderResultPacket } from "../cli/result_text.ts";
import { resolveReviewTicket, ticketHistory } from "../core/review/ticket_history.ts";
import { openTarget } from "../core/run_lookup.ts";

export interface ResultOptions {
  json?: boolean;
}

/**
 * `cmcs result <path> [ticket]`: the review packet of one ticket — by default the ticket of the
 * target's newest attempt. About 30 lines of text whatever the size of the change; `--json` has
 * every attempt and every file, each fact once.
 */
export async function result(
  path: string,
  ticketRef: string | undefined,
  opts: ResultOptions,
): Promise<number> {
  return printReport(await resultReport(path, ticketRef), opts.json);
}

/** One ticket's review packet, as `cmcs result` prints it in JSON and in text. */
export async function resultReport(
  path: string,
  ticketRef: string | undefined,
): Promise<Report<ResultJson>> {
  const opened = await openTarget(path);
  try {
    await recoverOrphans(opened.db);
    const target = opened.target!;
    const ticket = resolveReviewTicket(opened.db, target, opened.label, ticketRef);
    const history = ticketHistory(opened.db, target, ticket)!;
    const packet = await buildResultPacket({
      db: opened.db,
      target,
      isGit: opened.project.isGit,
      logsDir: opened.project.logsDir,
      history,
      pathArg: commandPath(target),
    });
    return {
      code: 0,
      data: resultJson(packet, opened.project.logsDir),
      text: renderResultPacket(packet),
    };
  } finally {
    opened.db.close();
  }
}
