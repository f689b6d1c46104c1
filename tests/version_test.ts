import assert from "node:assert/strict";
import { BUILD, VERSION } from "../src/version.ts";
import { cmcs } from "./helpers/cli.ts";
import { tempDir } from "./helpers/repo.ts";

Deno.test("cmcs version prints the version, build, Deno version and platform anywhere", async () => {
  await using dir = await tempDir();
  const result = await cmcs(["version"], { cwd: dir.path });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    `cmcs ${VERSION} (build ${BUILD}, deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch})\n`,
  );
  assert.equal(result.stderr, "");
});

Deno.test("cmcs version --json prints one document with stable fields", async () => {
  await using dir = await tempDir();
  const result = await cmcs(["version", "--json"], { cwd: dir.path });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), {
    version: VERSION,
    build: BUILD,
    deno: Deno.version.deno,
    os: Deno.build.os,
    arch: Deno.build.arch,
  });
  assert.match(VERSION, /^\d+\.\d+\.\d+/);
});
