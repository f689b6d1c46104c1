import assert from "node:assert/strict";
import { childOutput } from "../src/core/child_output.ts";

Deno.test("childOutput() returns what a child printed on both streams, its exit code and signal", async () => {
  const child = new Deno.Command("sh", {
    args: ["-c", "printf 'out\\n'; printf 'err' >&2; exit 3"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = await childOutput(child);
  const text = new TextDecoder();
  assert.deepEqual([out.code, out.signal, text.decode(out.stdout), text.decode(out.stderr)], [
    3,
    null,
    "out\n",
    "err",
  ]);
  const quiet = await childOutput(
    new Deno.Command("sh", {
      args: ["-c", "kill -TERM $$"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn(),
  );
  assert.equal(quiet.signal, "SIGTERM");
  assert.equal(quiet.stdout.length, 0, "a stream that was not piped reads as empty");
});
