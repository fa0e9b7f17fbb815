#!/usr/bin/env bash
# Set up a team project end to end, the way a script would:
#
#   1. moviecli init (database, reference data, the admin) without prompts
#   2. the team: a producer (pro tier) and a collaborator
#   3. the producer applies examples/space-heist/moviecli.toml (projects, media, collaborators)
#   4. the collaborator works through the first workflow steps in one-turn chat calls
#   5. the producer reads the session history and prints the dashboard
#
# Usage: examples/setup-team.sh
#   MOVIECLI=path/to/moviecli   the program to run (default: moviecli on PATH)
#   MOVIECLI_HOME=DIR           where the team's data lives (default: a temporary directory,
#                               removed at the end); MOVIECLI_DATABASE_URL is honoured, so
#                               the same script sets up a team on PostgreSQL.
# Exits non-zero as soon as anything fails.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mc=${MOVIECLI:-moviecli}
unset MOVIECLI_TOKEN # log in as each member in turn, never as the caller
export NO_COLOR=1

if [ -z "${MOVIECLI_HOME:-}" ]; then
  MOVIECLI_HOME=$(mktemp -d "${TMPDIR:-/tmp}/moviecli-team.XXXXXX")
  trap 'rm -rf "$MOVIECLI_HOME"' EXIT
fi
export MOVIECLI_HOME

admin=admin@example.com
producer=paula@example.com
collaborator=carol@example.com
password=space-heist-2024 # example passwords: use your own

say() { printf '\n== %s\n' "$*"; }
fail() {
  echo "setup-team: $*" >&2
  exit 1
}
# The value at a dotted path of the JSON on stdin (python3 comes with moviecli).
json() { python3 -c '
import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[int(key)] if isinstance(value, list) else value[key]
print(json.dumps(value) if isinstance(value, (dict, list)) else value)' "$1"; }
login() { printf '%s\n' "$password" | "$mc" login "$1" --password-stdin >/dev/null; }
# Create a user unless they exist (so the script can run again on the same home).
user() {
  "$mc" user show "$1" >/dev/null 2>&1 && return 0
  printf '%s\n' "$password" | "$mc" user create --email "$1" --name "$2" \
    --role "$3" --tier "$4" --password-stdin
}
# One chat turn as the collaborator: prints the reply's first line and keeps the JSON
# ({sessionId, response, choices, currentStep, progress, blocked}) in $last.
last=
turn() {
  local reply
  last=$("$mc" chat "Space Heist" "$@" --json)
  reply=$(printf '%s' "$last" | json response)
  printf '  %s\n' "${reply%%$'\n'*}"
}
step_is() {
  [ "$(printf '%s' "$last" | json currentStep)" = "$1" ] \
    || fail "the move to $1 was blocked: $(printf '%s' "$last" | json blocked)"
}

say "init (MOVIECLI_HOME=$MOVIECLI_HOME)"
printf '%s\n' "$password" | "$mc" init --name "Ada Admin" --email "$admin" --password-stdin

say "the team"
user "$producer" "Paula Producer" producer pro
user "$collaborator" "Carol Collaborator" user free

say "the producer applies the team file"
login "$producer"
"$mc" apply "$here/space-heist/moviecli.toml" --dry-run
"$mc" apply "$here/space-heist/moviecli.toml"
# Applying again changes nothing.
changed=$("$mc" apply "$here/space-heist/moviecli.toml" --json | json changed)
[ "$changed" = False ] || fail "a second apply wanted to change something"

say "the collaborator chats"
login "$collaborator"
turn -m "A crew of cats plans to steal the moon from a casino in orbit."
turn --choice story_development
step_is story_development
turn -m "Mia recruits a retired astronaut; the heist goes wrong when the moon starts to talk."
turn --choice character_creation
step_is character_creation
turn -m "Mia: a cat burglar with a conscience
Rex: a retired astronaut who misses the sky"
progress=$(printf '%s' "$last" | json progress.overallProgress)
[ "$progress" -ge 25 ] || fail "overall progress is $progress%, expected at least 25%"
session=$(printf '%s' "$last" | json sessionId)

say "the producer reads the collaborator's session and the dashboard"
login "$producer"
"$mc" session show "$session" --limit 4
"$mc" project list
"$mc" project show "Space Heist"
"$mc" project episodes "Space Heist"

say "done: Space Heist at $progress%"
