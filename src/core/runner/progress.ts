/**
 * What a run reports while it goes, for whoever is watching (the `run` command's terminal or pipe
 * output, a live multi-target view, the hooks): the journal's facts themselves (journal.ts), so
 * the terminal and the database can never tell two stories.
 */
export type { Fact as Progress, FactSink as ProgressSink } from "./journal.ts";
