#!/bin/sh
# SessionStart hook of the cmcs plugin. What it prints on stdout, Claude Code adds to the session's
# context: `cmcs brief` of the session's repository (running runs, finished tickets awaiting
# review, failures). Silent where the repository has no .cmcs/; one line when the cmcs command is
# missing; always exits 0, so it can never fail or block a session. The brief only reads.

dir=${CLAUDE_PROJECT_DIR:-$PWD}
cd "$dir" 2>/dev/null || exit 0

# cmcs keeps its state in the main checkout's .cmcs/, also for a linked worktree (git's common
# directory is the main checkout's .git); outside git, in the directory itself.
common=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null)
case $common in
  */.git) root=${common%/.git} ;;
  *) root=$(git rev-parse --show-toplevel 2>/dev/null || pwd) ;;
esac
[ -d "$root/.cmcs" ] || [ -d .cmcs ] || exit 0

# Hooks do not get the plugin's bin/ on PATH; its launcher prefers a cmcs on PATH anyway.
launcher="${CLAUDE_PLUGIN_ROOT:-$(dirname "$0")/..}/bin/cmcs"
limit=""
command -v timeout >/dev/null 2>&1 && limit="timeout 8"
out=$($limit sh "$launcher" brief 2>/dev/null)
status=$?
if [ "$status" -eq 127 ]; then
  echo "cmcs: this repository uses cmcs, but the cmcs command is not installed: install Deno 2.9 (npm install -g deno@2.9.6), then run deno task install in a clone of the cmcs repository"
elif [ -n "$out" ]; then
  printf '%s\n' "$out"
fi
exit 0
