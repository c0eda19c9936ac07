#!/bin/bash
# parley sessions: every subcommand through the real binary, on a store of
# its own seeded with hand-written exports (tests/data/sessions/).
. "$(dirname "$0")/../lib.sh"

DATA="$TESTS_DIR/data/sessions"
DB="$T_DIR/x.db"

sess() { run_parley --db "$DB" sessions "$@"; }

# import
sess import "$DATA/basic.json"
ID1=$OUT
expect_eq "import succeeds" 0 "$RC"
is_id() { grep -qxE '[0-9a-z]{8}' <<<"$1"; }
check "import prints a new id" is_id "$ID1"
run_parley --db "$DB" sessions import - <"$DATA/travel.json"
ID2=$OUT
expect_eq "import from stdin" 0 "$RC"
check "stdin import prints an id" is_id "$ID2"

sess import "$DATA/bad-role.json"
expect_eq "invalid export refused" 1 "$RC"
expect_contains "invalid export names the field" "$ERR" '"role" must be one of'
sess import "$T_DIR/missing.json"
expect_eq "missing import file" 1 "$RC"
expect_contains "missing file named" "$ERR" "parley: cannot open $T_DIR/missing.json"
printf '{"version": 1, "session": {' >"$T_DIR/trunc.json"
sess import "$T_DIR/trunc.json"
expect_eq "truncated JSON refused" 1 "$RC"
expect_contains "truncated JSON explained" "$ERR" "is not valid JSON"

# list
sess
expect_eq "bare sessions lists" 0 "$RC"
expect_contains "list header" "$(head -1 <<<"$OUT")" "ID"
expect_contains "list shows the title" "$OUT" "French omelette"
expect_eq "list is newest first" "$ID2" "$(sed -n 2p <<<"$OUT" | cut -c1-8)"
expect_contains "list shows counts" "$(grep "$ID1" <<<"$OUT")" " 5 "
expect_contains "list shows the model" "$(grep "$ID2" <<<"$OUT")" "qwen3"
sess list omel
expect_eq "filtered list has one row" 2 "$(wc -l <<<"$OUT")"
sess list --json
expect_eq "list --json is an array" 2 "$(jq length <<<"$OUT")"
expect_eq "list --json counts" 5 "$(jq ".[] | select(.id == \"$ID1\") | .messages" <<<"$OUT")"
expect_eq "list --json title" "Zürich café guide" "$(jq -r '.[0].title' <<<"$OUT")"
run_parley --db "$DB" --json sessions list
expect_eq "global --json applies" 2 "$(jq length <<<"$OUT" 2>/dev/null)"

# show
sess show "$ID1"
expect_eq "show succeeds" 0 "$RC"
expect_contains "show has the title" "$OUT" "French omelette"
expect_contains "show has the user text" "$OUT" "How do I make a French omelette?"
expect_contains "show has the reply" "$OUT" "Whisk three eggs"
expect_contains "show marks a failed reply" "$OUT" "[error: connection to Ollama dropped]"
expect_contains "show has the system prompt" "$OUT" "You are a patient cook."
expect_not_contains "no escapes when piped" "$OUT" $'\033'
expect_contains "show marks the version on show" "$OUT" "── assistant ‹2/2›"
sess show "$ID1" --tree
expect_eq "show --tree" 0 "$RC"
expect_contains "the tree has the interrupted reply, off the branch on show" "$OUT" "    assistant ‹1/2›: Gruyère and chives work w [interrupted]"
expect_contains "and the failed one, on it" "$OUT" "*       assistant ‹2/2›: (empty) [error: connection to Ollama dropped]"
expect_contains "the branch on show starred from the root" "$OUT" "* user: How do I make a French omelette?"
sess show "$ID1" --tree --json
expect_eq "show --tree --json is the export, every branch" 5 "$(jq '.messages | length' <<<"$OUT")"
sess show "${ID1:0:6}"
expect_eq "show by id prefix" 0 "$RC"
sess show "French omelette"
expect_eq "show by title" 0 "$RC"
sess show --json "$ID1"
expect_eq "show --json is the export" 5 "$(jq '.messages | length' <<<"$OUT")"
expect_eq "show --json keeps states" "interrupted" "$(jq -r '.messages[3].state' <<<"$OUT")"
sess show zzzzzzzz
expect_eq "unknown session exits 1" 1 "$RC"
expect_eq "unknown session message" "parley: no session matches 'zzzzzzzz'" "$ERR"

# export
sess export "$ID1"
expect_eq "export defaults to markdown" "# French omelette" "$(head -1 <<<"$OUT")"
expect_contains "markdown user section" "$OUT" "## User"
expect_contains "markdown assistant section" "$OUT" "## Assistant (llama3.2)"
expect_contains "markdown thinking" "$OUT" "<details><summary>Thinking</summary>"
sess export "$ID1" --format json -o "$T_DIR/e1.json"
expect_eq "export to a file" 0 "$RC"
expect_eq "export file is JSON" 2 "$(jq .version "$T_DIR/e1.json")"
sess export "$ID1" -o "$T_DIR/e1.md"
expect_eq "markdown export to a file" "# French omelette" "$(head -1 "$T_DIR/e1.md")"
sess export "$ID1" --format yaml
expect_eq "bad format is a usage error" 2 "$RC"
sess export "$ID1" -o "$T_DIR/no/such/dir.json"
expect_eq "unwritable output" 1 "$RC"
expect_contains "unwritable output named" "$ERR" "cannot write $T_DIR/no/such/dir.json"

# round trip: export, import, export again: equal but for the id
sess import "$T_DIR/e1.json"
ID3=$OUT
sess export "$ID3" --format json -o "$T_DIR/e3.json"
expect_eq "round trip is exact" "$(jq -S 'del(.session.id)' "$T_DIR/e1.json")" \
	"$(jq -S 'del(.session.id)' "$T_DIR/e3.json")"
expect_eq "round trip keeps the stats" 700000000 "$(jq '.messages[1].eval_ns' "$T_DIR/e3.json")"

# rename
sess rename "$ID3" Omelette, second  try
expect_eq "rename succeeds" 0 "$RC"
sess show "Omelette, second try"
expect_eq "found by the new title" 0 "$RC"
sess rename "$ID3"
expect_eq "rename without a title is a usage error" 2 "$RC"
expect_contains "usage line" "$ERR" "usage: parley sessions rename ID TITLE..."

# search
sess search omelette
expect_eq "search succeeds" 0 "$RC"
expect_contains "search shows the match" "$OUT" "[omelette]"
expect_contains "search shows the session" "$OUT" "$ID1"
sess search cafe
expect_contains "search folds accents" "$OUT" "$ID2"
sess search '"foo'
expect_eq "stray quote is not an error" 0 "$RC"
expect_contains "stray quote finds the word" "$OUT" "$ID2"
sess search AND
expect_eq "AND is a word" 0 "$RC"
sess search a AND
expect_eq "dangling AND is not an error" 0 "$RC"
sess search --json whisk
expect_eq "search --json hits" 2 "$(jq length <<<"$OUT")"
expect_contains "search --json snippet" "$(jq -r '.[0].snippet' <<<"$OUT")" "[Whisk]"
sess search nothingmatchesthis
expect_eq "no hits is not an error" "0:" "$RC:$OUT"
sess search
expect_eq "search needs text" 2 "$RC"

# rm
sess rm "$ID3"
expect_eq "rm succeeds" 0 "$RC"
sess show "$ID3"
expect_eq "removed session is gone" 1 "$RC"
sess search whisk
expect_eq "its messages leave the index" 1 "$(grep -c . <<<"$OUT")"
sess delete "$ID2"
expect_eq "delete is rm" 0 "$RC"
sess rm "$ID2"
expect_eq "rm of a missing session" 1 "$RC"

# usage
sess frobnicate
expect_eq "unknown subcommand" 2 "$RC"
expect_contains "unknown subcommand named" "$ERR" "frobnicate"
sess list --bogus
expect_eq "unknown option" 2 "$RC"

# PARLEY_DB
PARLEY_DB="$DB" run_parley sessions list --json
expect_eq "PARLEY_DB names the store" 1 "$(jq length <<<"$OUT" 2>/dev/null)"

# parallel writers never see a locked store
for i in 1 2 3 4 5 6 7 8; do
	"$PARLEY_BIN" --db "$T_DIR/par.db" sessions import "$DATA/basic.json" \
		>"$T_DIR/par.$i.out" 2>"$T_DIR/par.$i.err" &
done
wait
expect_eq "8 parallel imports" 8 "$(cat "$T_DIR"/par.*.out | grep -cE '^[0-9a-z]{8}$')"
expect_eq "no errors from parallel imports" "" "$(cat "$T_DIR"/par.*.err)"
run_parley --db "$T_DIR/par.db" sessions list --json
expect_eq "all 40 messages present" 40 "$(jq '[.[].messages] | add' <<<"$OUT")"

# store trouble
: >"$T_DIR/afile"
run_parley --db "$T_DIR/afile/sub/x.db" sessions list
expect_eq "uncreatable store exits 1" 1 "$RC"
expect_contains "uncreatable store explained" "$ERR" "parley: cannot create the session store at $T_DIR/afile/sub/x.db"
head -c 8192 /dev/urandom >"$T_DIR/junk.db"
run_parley --db "$T_DIR/junk.db" sessions list
expect_eq "junk file exits 1" 1 "$RC"
expect_contains "junk file explained" "$ERR" "is not a parley session store or is corrupt"
if command -v sqlite3 >/dev/null; then
	sqlite3 "$T_DIR/new.db" 'PRAGMA user_version = 9;'
	run_parley --db "$T_DIR/new.db" sessions list
	expect_eq "newer schema refused" \
		"parley: $T_DIR/new.db was written by a newer parley (schema 9); upgrade parley" "$ERR"
fi

done_testing
