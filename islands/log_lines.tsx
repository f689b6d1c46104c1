/** The CSS class of one rendered log line (see src/core/codex_render.ts for the line shapes). */
export function logLineClass(line: string): string {
  if (line.startsWith("$ ")) return "l-cmd";
  if (/^ {2}exit 0 /.test(line)) return "l-exit0";
  if (/^ {2}(?:exit|ended) /.test(line)) return "l-exit";
  if (line.startsWith("codex: ") || line.startsWith("       ")) return "l-agent";
  if (line.startsWith("    ")) return "l-out";
  if (line.startsWith("thinking: ")) return "l-think";
  if (/^(?:added|edited|deleted|changed) /.test(line)) return "l-file";
  if (/^(?:error|warning): |^turn failed/.test(line)) return "l-err";
  if (line.startsWith("turn completed") || line.startsWith("thread ")) return "l-turn";
  return "";
}

/** Rendered log lines, each coloured by what it is. */
export function LogLines({ lines }: { lines: string[] }) {
  return (
    <>
      {lines.map((line, i) => (
        <span key={i} class={logLineClass(line) || undefined}>
          {line}
          {"\n"}
        </span>
      ))}
    </>
  );
}
