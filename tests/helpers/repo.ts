import { join } from "node:path";

/** Environment for git in tests: a fixed identity and no user/system config. */
export const GIT_ENV: Record<string, string> = {
  GIT_AUTHOR_NAME: "cmcs test",
  GIT_AUTHOR_EMAIL: "test@cmcs.invalid",
  GIT_COMMITTER_NAME: "cmcs test",
  GIT_COMMITTER_EMAIL: "test@cmcs.invalid",
  GIT_CONFIG_NOSYSTEM: "1",
};

/** Runs git in `cwd` and returns stdout; throws with git's stderr on failure. */
export async function gitIn(cwd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", { args, cwd, env: GIT_ENV, stdin: "null" }).output();
  const decoder = new TextDecoder();
  if (out.code !== 0) throw new Error(`git ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

/** A temporary directory removed when the returned object is disposed (`await using`). */
export async function tempDir(prefix = "cmcs-test-"): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.realPath(await Deno.makeTempDir({ prefix }));
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * A real git repository on branch `main` with one commit (a README), identity configured in the
 * repository itself so cmcs's own git calls can commit. Removed on dispose.
 */
export async function tempRepo(prefix = "cmcs-repo-"): Promise<{ path: string } & AsyncDisposable> {
  const dir = await tempDir(prefix);
  await gitIn(dir.path, "init", "-q", "-b", "main");
  await gitIn(dir.path, "config", "user.name", "cmcs test");
  await gitIn(dir.path, "config", "user.email", "test@cmcs.invalid");
  await gitIn(dir.path, "config", "commit.gpgsign", "false");
  await Deno.writeTextFile(join(dir.path, "README.md"), "# test repo\n");
  await gitIn(dir.path, "add", "README.md");
  await gitIn(dir.path, "commit", "-q", "-m", "initial");
  return dir;
}
