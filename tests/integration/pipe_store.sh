#!/bin/bash
# Pipe mode and the session store together: every exchange recorded,
# resumed with -s/-c, history resent (thinking not), trimming to the
# context, several processes at once, kill -9 mid-reply, and store trouble
# that never costs the user the answer.
. "$TESTS_DIR/lib.sh"

DB="$T_DIR/s.db"
export PARLEY_DB="$DB"
start_fake F ollama '{"models":[{"name":"llama3.2:latest","context_length":131072}],"chat":{"echo":true,"thinking":["hmm"]}}'
O=(--provider ollama --base-url "$F_URL" -m llama3.2)
sid() { "$PARLEY_BIN" sessions list --json | jq -r '.[0].id'; }

run_parley "${O[@]}" "first question"
expect_eq "answer" "echo: first question" "$OUT"
S=$(sid)
expect_eq "one session recorded" 1 "$("$PARLEY_BIN" sessions list --json | jq length)"
expect_eq "titled by the first message" '"first question"' "$("$PARLEY_BIN" sessions list --json | jq '.[0].title')"
run_parley "${O[@]}" -c "second question"
expect_eq "-c resumes: history resent" '["user","assistant","user"]' "$(last_chat "$F_LOG" | jq -c '[.body.messages[].role]')"
expect_eq "-c resumes: earlier reply resent" '"echo: first question"' "$(last_chat "$F_LOG" | jq '.body.messages[1].content')"
expect_eq "thinking is stored but not resent" 'null' "$(last_chat "$F_LOG" | jq '.body.messages[1].thinking')"
run_parley --json sessions show "$S"
expect_eq "thinking is stored" '"hmm"' "$(jq '.messages[1].thinking' <<<"$OUT")"
expect_eq "token counts stored" '14' "$(jq '.messages[1].prompt_tokens' <<<"$OUT")"
expect_eq "-c kept one session" 1 "$("$PARLEY_BIN" sessions list --json | jq length)"

run_parley "${O[@]}" -s "${S:0:4}" "third"
expect_eq "-s by id prefix resumes" 5 "$(last_chat "$F_LOG" | jq '.body.messages|length')"
run_parley "${O[@]}" -s "first question" "fourth"
expect_eq "-s by title resumes" 7 "$(last_chat "$F_LOG" | jq '.body.messages|length')"
run_parley "${O[@]}" --new "fresh"
expect_eq "--new starts afresh" 1 "$(last_chat "$F_LOG" | jq '.body.messages|length')"
run_parley "${O[@]}" -s "my project" "named"
expect_eq "-s NEWTITLE creates it" '"my project"' "$("$PARLEY_BIN" sessions list --json | jq '.[0].title')"
run_parley "${O[@]}" -s "my project" --system "be terse" "again"
expect_eq "system prompt sent first" '"system"' "$(last_chat "$F_LOG" | jq '.body.messages[0].role')"
run_parley "${O[@]}" -s "my project" "and again"
expect_eq "system prompt kept with the session" '"be terse"' "$(last_chat "$F_LOG" | jq '.body.messages[0].content')"
run_parley "${O[@]}" --no-save "not kept"
expect_eq "--no-save records nothing" 3 "$("$PARLEY_BIN" sessions list --json | jq length)"
run_parley "${O[@]}" -s nosuchthing -c x
expect_eq "-s with -c: usage error" 2 "$RC"

# trimming: a small window keeps the system prompt and the newest turns
long=$(printf 'word %.0s' $(seq 1 400))
for i in 1 2 3; do run_parley "${O[@]}" -s trimmed --system "sys" "$i $long"; done
run_parley "${O[@]}" -s trimmed -o num_ctx=1200 -v "short"
first_role=$(last_chat "$F_LOG" | jq -r '.body.messages[0].role')
n=$(last_chat "$F_LOG" | jq '.body.messages|length')
expect_eq "trimmed history keeps the system prompt" system "$first_role"
check "trimmed history drops old turns" test "$n" -lt 8
expect_eq "the newest message is sent" '"short"' "$(last_chat "$F_LOG" | jq '.body.messages[-1].content')"
expect_contains "-v says it trimmed" "$ERR" "history trimmed"

# trimming to the model's own window, asked of the backend (/api/show): a
# history that might not fit waits for the answer and is cut to it
start_fake W ollama '{"models":[{"name":"small:latest","context_length":4096}],"chat":{"echo":true}}'
for i in 1 2 3 4; do run_parley --provider ollama --base-url "$W_URL" -m small -s win "$i $long"; done
run_parley --provider ollama --base-url "$W_URL" -m small -s win -v "short"
expect_contains "the model's window from /api/show trims the history" "$ERR" "to fit the 4096-token context"
expect_eq "a long history waits for /api/show before the chat" "/api/show /api/chat" \
	"$(tail -n 2 "$W_LOG" | jq -r .path | tr '\n' ' ' | sed 's/ $//')"

# estimated counts when the backend gives none
start_fake N openai '{"models":[{"name":"m"}],"chat":{"tokens":["a b c d e f g h"],"usage":false}}'
run_parley --provider openai --base-url "$N_URL" -m m -s est "count me"
run_parley --json sessions show est
expect_eq "estimated counts are marked" 'true' "$(jq '.messages[1].estimated' <<<"$OUT")"
check "estimated reply count" test "$(jq '.messages[1].reply_tokens' <<<"$OUT")" -gt 0

# eight processes at once, ten exchanges each: nothing lost, never "locked"
: >"$T_DIR/par.err"
pids=()
for p in 1 2 3 4 5 6 7 8; do
	(for i in 1 2 3 4 5 6 7 8 9 10; do
		"$PARLEY_BIN" "${O[@]}" --hide-thinking -s "par-$p" "p$p m$i" >/dev/null 2>>"$T_DIR/par.err" || echo "fail $p $i" >>"$T_DIR/par.err"
	done) &
	pids+=($!)
done
wait "${pids[@]}"
expect_eq "parallel: no errors" "" "$(cat "$T_DIR/par.err")"
total=0
for p in 1 2 3 4 5 6 7 8; do
	c=$("$PARLEY_BIN" sessions show "par-$p" --json | jq '.messages|length')
	total=$((total + c))
done
expect_eq "parallel: all 160 messages stored" 160 "$total"

# kill -9 mid-reply: what arrived up to a moment before is stored, and
# the reply shows as interrupted; the store stays intact.
start_fake K ollama '{"models":[{"name":"llama3.2:latest"}],"chat":{"tokens":["chunk "],"repeat":2000,"delay_ms":20}}'
"$PARLEY_BIN" --provider ollama --base-url "$K_URL" -m llama3.2 -s crash "go" >"$T_DIR/k.out" 2>/dev/null &
pid=$!
wait_for 10 bash -c "[ \$(grep -o chunk '$T_DIR/k.out' | wc -l) -ge 40 ]"
sleep_ok=$(grep -o chunk "$T_DIR/k.out" | wc -l)
kill -9 $pid
wait $pid 2>/dev/null
printed=$(grep -o chunk "$T_DIR/k.out" | wc -l)
run_parley --json sessions show crash
stored=$(jq -r '.messages[1].content' <<<"$OUT" | grep -o chunk | wc -l)
expect_eq "kill -9: reply marked interrupted" '"interrupted"' "$(jq '.messages[1].state' <<<"$OUT")"
# 1 s of text is 50 chunks at 20 ms; stdout may lag the store by a flush
check "kill -9: at most 1 s of text lost ($stored stored of $printed printed)" test $((printed - stored)) -le 50
check "kill -9: something was stored" test "$stored" -ge "$((sleep_ok - 50))"
expect_eq "kill -9: integrity_check" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"

# store trouble: the answer still reaches stdout
printf 'this is not a database at all, just text\n%.0s' $(seq 1 200) >"$T_DIR/junk.db"
PARLEY_DB="$T_DIR/junk.db" run_parley "${O[@]}" "still answered"
expect_eq "corrupt store: answer on stdout" "echo: still answered" "$OUT"
expect_eq "corrupt store: exit 0" 0 "$RC"
expect_contains "corrupt store: clear message" "$ERR" "not a parley session store"
touch "$T_DIR/afile"
PARLEY_DB="$T_DIR/afile/sub/s.db" run_parley "${O[@]}" "no dir"
expect_eq "unwritable store path: answer on stdout" "echo: no dir" "$OUT"
expect_contains "unwritable store path: says where" "$ERR" "$T_DIR/afile/sub/s.db"
sqlite3 "$T_DIR/new.db" 'PRAGMA user_version=99; CREATE TABLE x(y);'
PARLEY_DB="$T_DIR/new.db" run_parley "${O[@]}" "newer"
expect_eq "newer store: answer on stdout" "echo: newer" "$OUT"
expect_contains "newer store: says upgrade" "$ERR" "newer parley"

# a session with branches: a resumed chat sends the branch on show alone
# (basic.json: two replies to "And the filling?", the newest a failed one)
BR=$("$PARLEY_BIN" sessions import "$TESTS_DIR/data/sessions/basic.json")
run_parley "${O[@]}" -s "$BR" "what about herbs?"
expect_eq "branch resumed" "0 echo: what about herbs?" "$RC $OUT"
expect_eq "the backend got the branch on show, the failed reply skipped" \
	'["How do I make a French omelette?","Whisk three eggs, melt butter over medium heat, and stir gently.","And the filling?","what about herbs?"]' \
	"$(last_chat "$F_LOG" | jq -c '[.body.messages[] | select(.role != "system") | .content]')"
expect_eq "the new turn hangs off the branch on show" '"error"' \
	"$("$PARLEY_BIN" sessions show "$BR" --json | jq '.messages as $m | ($m[] | select(.content == "what about herbs?") | .parent) as $p | $m[$p].state')"
done_testing
