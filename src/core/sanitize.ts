/**
 * Text from outside cmcs — Codex's messages and logs, ticket titles, file names, git output — is
 * shown in the reader's terminal. A terminal obeys escape sequences wherever they come from: OSC 52
 * writes the clipboard, OSC 0 retitles the window, CSI moves the cursor over earlier lines, and
 * bidi overrides make text read differently from what it is. Everything printed is passed through
 * {@link stripControl} first (src/cli/output.ts does it for every command), and JSON goes through
 * {@link escapeJsonControls}, which keeps the text exact but escaped.
 */

// Terminal escapes, matched on purpose: CSI (ESC [ or U+009B, params, intermediates, final byte);
// OSC/DCS/SOS/PM/APC strings (ESC or their C1 form) ended by BEL or ST (or by nothing); any other
// ESC sequence; and the control characters left after those (all of C0 except tab and newline,
// DEL, C1), plus the bidi embedding, override and isolate characters.
// deno-lint-ignore no-control-regex
const CSI = /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?/g;
// deno-lint-ignore no-control-regex
const ESC_STRING = /(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?/g;
// deno-lint-ignore no-control-regex
const ESC_OTHER = /\x1b[ -/]*[0-~]?/g;
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Removes ANSI escape sequences (CSI, OSC and other strings, single-character escapes), every
 * control character except newline and tab, and bidi overrides; `\r\n` becomes `\n` and a lone
 * `\r` is dropped (it would let a line overwrite itself on screen).
 */
export function stripControl(text: string): string {
  return text.replace(/\r\n/g, "\n").replace(CSI, "").replace(ESC_STRING, "").replace(ESC_OTHER, "")
    .replace(CONTROL, "");
}

// Characters JSON.stringify leaves raw although a terminal may act on them: DEL, C1 (U+0080–U+009F,
// among them the one-character CSI and OSC), bidi controls and the JavaScript line separators.
const JSON_UNSAFE = /[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/**
 * Escapes, in JSON text made by `JSON.stringify`, the characters it leaves raw that a terminal
 * could act on. Outside strings JSON text is plain ASCII, so they can only occur inside strings,
 * where `\uXXXX` means the same character: `JSON.parse` gives back exactly the original text.
 */
export function escapeJsonControls(json: string): string {
  return json.replace(
    JSON_UNSAFE,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
