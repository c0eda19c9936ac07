#!/bin/bash
# Session ids a client chose through the listener (a uuid4, mixed case,
# dots, dashes, underscores) are found by every command that takes an id:
# an exact id always wins over a title or a prefix, and a session whose
# title is another session's id never stands in for it.
. "$TESTS_DIR/lib.sh"

DB="$T_DIR/s.db"
export PARLEY_DB="$DB"
start_fake F ollama '{"models":[{"name":"llama3.2:latest"}],"chat":{"echo":true}}' || exit 1
start_serve S --provider ollama --base-url "$F_URL" --listen 127.0.0.1:0 || exit 1
say() {
	curl -s -m 10 -o /dev/null -w '%{http_code}' -H "X-Session-Id: $1" -H 'Content-Type: application/json' \
		--data-binary '{"model":"llama3.2","messages":[{"role":"user","content":"'"$2"'"}]}' "$S_URL/v1/chat/completions"
}
count() { "$PARLEY_BIN" sessions show "$1" --json 2>/dev/null | jq '.messages | length'; }
nsessions() { "$PARLEY_BIN" sessions list --json | jq length; }

UUID=3f2b8c1e-9d4a-4e7b-8f00-6a5c2d1e0b9a
for id in "$UUID" Editor-Chat_42 ABC123 v1.2_rc; do
	expect_eq "listener takes the client's id $id" 200 "$(say "$id" "hello $id")"
done
# a session titled like another one's id, made the way a user would
run_parley -m llama3.2 --provider ollama --base-url "$F_URL" -s Editor-Chat_42x "titled"
expect_eq "a titled session for the trap" 0 "$RC"
run_parley --provider ollama --base-url "$F_URL" sessions rename "Editor-Chat_42x" ABC123
expect_eq "renamed to another session's id" 0 "$RC"
expect_eq "five sessions" 5 "$(nsessions)"

for id in "$UUID" Editor-Chat_42 ABC123 v1.2_rc; do
	run_parley sessions show "$id" --json
	expect_eq "sessions show $id finds it by id" "0 $id" "$RC $(jq -r .session.id <<<"$OUT")"
done
run_parley sessions show ABC123
expect_contains "show ABC123: the session with that id, not the one titled so" "$OUT" "hello ABC123"

run_parley -m llama3.2 --provider ollama --base-url "$F_URL" -s "$UUID" "again"
expect_eq "-s with a uuid continues that session" "0 echo: again" "$RC $OUT"
expect_eq "-s added the turn to it" 4 "$(count "$UUID")"
expect_eq "-s made no new session" 5 "$(nsessions)"
run_parley -m llama3.2 --provider ollama --base-url "$F_URL" -s Editor-Chat_42 "more"
expect_eq "-s with a mixed-case id" "4 5" "$(count Editor-Chat_42) $(nsessions)"
check "the backend got the stored history" \
	test "$(last_chat "$F_LOG" | jq -c '[.body.messages[].content]')" = '["hello Editor-Chat_42","echo: hello Editor-Chat_42","more"]'

run_parley sessions rename v1.2_rc "Release notes"
expect_eq "rename by a dotted id" "0 Release notes" "$RC $("$PARLEY_BIN" sessions show v1.2_rc --json | jq -r .session.title)"
run_parley sessions export Editor-Chat_42 --format json
expect_eq "export by id" "0 Editor-Chat_42" "$RC $(jq -r .session.id <<<"$OUT")"
run_parley sessions show Editor
expect_eq "a unique prefix of a client's id" "0" "$RC"
expect_contains "the prefix found it" "$OUT" "hello Editor-Chat_42"

run_parley sessions rm ABC123
expect_eq "rm by id" 0 "$RC"
check "rm removed the session with that id" test "$("$PARLEY_BIN" sessions show ABC123 --json | jq -r '.messages[0].content')" = "titled"
run_parley sessions list --json
expect_eq "and only it" '["Editor-Chat_42","v1.2_rc"]' "$(jq -c '[.[].id | select(. == "Editor-Chat_42" or . == "v1.2_rc" or . == "ABC123")] | sort' <<<"$OUT")"
expect_eq "the one titled ABC123 is still there" 1 "$(jq '[.[] | select(.title == "ABC123")] | length' <<<"$OUT")"
done_testing
