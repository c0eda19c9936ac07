#!/bin/bash
# The listener and the message tree: a client that resends its history
# continues the branch it follows; one that regenerates a reply or edits an
# earlier question gets a new branch of the same session, not a new
# session; the backend sees the branch, not the whole tree.
. "$TESTS_DIR/lib.sh"

DB="$T_DIR/b.db"
export PARLEY_DB="$DB"
start_fake F ollama '{"models":[{"name":"llama3.2:latest"}],"chat":{"echo":true}}' || exit 1
start_serve S --provider ollama --base-url "$F_URL" --listen 127.0.0.1:0 || exit 1

# chat [SID] MESSAGES...: one request (user/assistant alternate, the first a
# user message); the answer's text in $REPLY_TEXT, its session in $REPLY_SID.
chat() {
	local sid=$1 hdr=() msgs='[]' role=user
	shift
	[ -n "$sid" ] && hdr=(-H "X-Session-Id: $sid")
	for m in "$@"; do
		msgs=$(jq -c --arg r "$role" --arg c "$m" '. + [{role: $r, content: $c}]' <<<"$msgs")
		[ "$role" = user ] && role=assistant || role=user
	done
	curl -s -m 10 -D "$T_DIR/h" -o "$T_DIR/o" "${hdr[@]}" -H 'Content-Type: application/json' \
		--data-binary "{\"model\":\"llama3.2\",\"messages\":$msgs}" "$S_URL/v1/chat/completions"
	REPLY_TEXT=$(jq -r '.choices[0].message.content' "$T_DIR/o")
	REPLY_SID=$(tr -d '\r' <"$T_DIR/h" | sed -n 's/^[Xx]-[Ss]ession-[Ii]d: //p')
}
nsessions() { "$PARLEY_BIN" sessions list --json | jq length; }
export_of() { "$PARLEY_BIN" sessions show "$1" --json; }
# the branch on show, as the backend would get it
path_of() {
	export_of "$1" | jq -c '.messages as $m | [.session.head | recurse(if . != null then $m[.].parent else empty end) | select(. != null)] | reverse | map($m[.].content)'
}

chat "" "plan a trip to Oslo"
S1=$REPLY_SID
expect_eq "first exchange answered" "echo: plan a trip to Oslo" "$REPLY_TEXT"
chat "" "plan a trip to Oslo" "echo: plan a trip to Oslo" "in winter"
expect_eq "resent history finds the session" "$S1" "$REPLY_SID"
expect_eq "the branch grows" '["plan a trip to Oslo","echo: plan a trip to Oslo","in winter","echo: in winter"]' "$(path_of "$S1")"

# regenerate: the same history again, without the last reply
chat "" "plan a trip to Oslo" "echo: plan a trip to Oslo" "in winter"
expect_eq "a regenerated reply stays in the session" "$S1 1" "$REPLY_SID $(nsessions)"
expect_eq "the session holds both replies" 5 "$(export_of "$S1" | jq '.messages | length')"
expect_eq "the two replies are siblings" '[2,2]' "$(export_of "$S1" | jq -c '[.messages[] | select(.content == "echo: in winter") | .parent]')"
check "the backend got the history once" \
	test "$(last_chat "$F_LOG" | jq -c '[.body.messages[].content]')" = '["plan a trip to Oslo","echo: plan a trip to Oslo","in winter"]'

# edit: an earlier question changed
chat "" "plan a trip to Oslo" "echo: plan a trip to Oslo" "in summer"
expect_eq "an edited question stays in the session" "$S1 1" "$REPLY_SID $(nsessions)"
expect_eq "the edit is a branch beside the old question" '[1,1]' "$(export_of "$S1" | jq -c '[.messages | to_entries[] | select(.value.content == "in winter" or .value.content == "in summer") | .value.parent]')"
expect_eq "and the branch on show" '["plan a trip to Oslo","echo: plan a trip to Oslo","in summer","echo: in summer"]' "$(path_of "$S1")"
check "the backend never saw the other branch" \
	test "$(last_chat "$F_LOG" | jq -c '[.body.messages[].content]')" = '["plan a trip to Oslo","echo: plan a trip to Oslo","in summer"]'

# back on the old branch: its whole history resent, one more question
chat "" "plan a trip to Oslo" "echo: plan a trip to Oslo" "in winter" "echo: in winter" "with kids"
expect_eq "the old branch continues" "$S1" "$REPLY_SID"
expect_eq "its branch is on show again" '["plan a trip to Oslo","echo: plan a trip to Oslo","in winter","echo: in winter","with kids","echo: with kids"]' "$(path_of "$S1")"
expect_eq "nothing was lost" 9 "$(export_of "$S1" | jq '.messages | length')"

# a client that names the session and sends only its new message: after
# the branch on show (server-side memory)
chat "$S1" "and the budget?"
expect_eq "a named session, only the new message" "$S1" "$REPLY_SID"
check "the backend got the branch on show before it" \
	test "$(last_chat "$F_LOG" | jq -c '[.body.messages[].content] | .[-3:]')" = '["with kids","echo: with kids","and the budget?"]'
expect_eq "it went on the end of that branch" "echo: with kids" "$(export_of "$S1" | jq -r '.messages as $m | ($m[] | select(.content == "and the budget?") | .parent) as $p | $m[$p].content')"

# another conversation altogether is another session
chat "" "what is a fjord" "echo: what is a fjord" "how deep"
check "a different conversation starts a session" test "$REPLY_SID" != "$S1"
expect_eq "two sessions" 2 "$(nsessions)"

# /v1/sessions/ID: the branch on show with ids and parents; every branch on request
V=$(curl -s -m 10 "$S_URL/v1/sessions/$S1")
expect_eq "the API shows the branch on show" 8 "$(jq '.messages | length' <<<"$V")"
expect_eq "its head is the last of them" "$(jq '.messages[-1].id' <<<"$V")" "$(jq .head <<<"$V")"
expect_eq "each message names its parent" true "$(jq '[.messages as $m | range(1; $m | length) | $m[.].parent == $m[. - 1].id] | all' <<<"$V")"
expect_eq "?branches=all gives the whole tree" 11 "$(curl -s -m 10 "$S_URL/v1/sessions/$S1?branches=all" | jq '.messages | length')"
done_testing
