import { BUILD, VERSION } from "../version.ts";
import { print, printJson } from "../cli/output.ts";

/**
 * `cmcs version`: the version, the build stamp ("dev" from source) and the Deno runtime and
 * platform it runs on. Needs no project, database or network, so it works anywhere.
 */
export function version(opts: { json?: boolean }): Promise<number> {
  const info = {
    version: VERSION,
    build: BUILD,
    deno: Deno.version.deno,
    os: Deno.build.os,
    arch: Deno.build.arch,
  };
  if (opts.json) {
    printJson(info);
  } else {
    print(
      `cmcs ${info.version} (build ${info.build}, deno ${info.deno}, ${info.os}/${info.arch})`,
    );
  }
  return Promise.resolve(0);
}
