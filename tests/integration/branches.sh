#!/bin/bash
# Conversations as trees in the REPL and `parley sessions`: /retry keeps
# the old reply as another version, /edit N asks an earlier question again
# on a new branch (with the text given, or offered on the input line to
# change), /branch lists and switches branches, /fork copies the branch on
# show into a new session, `sessions show --tree` prints every branch.
. "$TESTS_DIR/lib.sh"
REPL_ROWS=40 REPL_SCROLLBACK=200
. "$TESTS_DIR/repl_lib.sh"
# the screen after the last line holding TEXT (what a command printed)
after() { screen "$1" | awk -v t="$2" 'index($0, t) { buf = ""; seen = 1; next } seen { buf = buf $0 "\n" } END { printf "%s", buf }'; }
chats() { grep -c '"/api/chat"' "$F_LOG" 2>/dev/null || echo 0; }
has_chats() { [ "$(chats)" -ge "$1" ]; }

start_fake F ollama '{"models":[{"name":"llama3.2:latest"}],"chat":[{"tokens":["first answer"]},{"tokens":["second answer"]},{"echo":true}]}' || exit 1
sid() { "$PARLEY_BIN" sessions list --json | jq -r '.[0].id'; }

start_repl b --provider ollama --base-url "$F_URL" -m llama3.2
expect_screen "a prompt" b ">>> "
keys b "what is a fjord" Enter
expect_screen "the first answer" b "first answer"
keys b "/retry" Enter
expect_screen "a retry answers again" b "second answer"
expect_screen "and says the reply has another version" b "reply ‹2/2› (/branch lists the branches)"
S=$(sid)
run_parley sessions show "$S" --tree
expect_contains "the tree holds the old reply" "$OUT" "assistant ‹1/2›: first answer"
expect_contains "and the new one, on the branch on show" "$OUT" "*   assistant ‹2/2›: second answer"
run_parley sessions show "$S"
expect_contains "show marks the version on show" "$OUT" "── assistant ‹2/2›"
expect_contains "and says where the rest is" "$OUT" "(1 message on other branches: sessions show $S --tree)"
expect_eq "the retry sent the question alone" '["what is a fjord"]' "$(last_chat "$F_LOG" | jq -c '[.body.messages[].content]')"

keys b "/branch" Enter
expect_screen "two branches listed" b "  1  2 messages, 1 shared"
expect_screen "the one on show starred" b "* 2  2 messages"
keys b "/branch 1" Enter
expect_screen "switching says which" b "branch 1 of 2"
expect_screen "and shows its end" b "assistant ‹1/2›:"
run_parley sessions show "$S" --tree
expect_contains "the old reply is on show now" "$OUT" "*   assistant ‹1/2›: first answer"

keys b "/edit 1 how deep are fjords" Enter
expect_screen "an edited question is answered" b "echo: how deep are fjords"
expect_screen "and is another version of the question" b "question ‹2/2› (/branch lists the branches)"
expect_eq "the edit went alone, without the old branch" '["how deep are fjords"]' "$(last_chat "$F_LOG" | jq -c '[.body.messages[].content]')"
run_parley sessions show "$S" --json
expect_eq "five messages in the session" 5 "$(jq '.messages | length' <<<"$OUT")"
expect_eq "two roots: the questions" 2 "$(jq '[.messages[] | select(.parent == null)] | length' <<<"$OUT")"

keys b "/edit 1" Enter
expect_screen "the question comes back to change" b "change the question and press Enter"
expect_screen "on the input line" b ">>> how deep are fjords"
keys b End " in Norway" Enter
expect_screen "the changed question is answered" b "echo: how deep are fjords in Norway"
keys b "/edit 9 x" Enter
expect_screen "a question that is not there" b "/edit: there is no question 9 (this branch has 1)"
keys b "/branch" Enter
expect_screen "four branches now" b "* 4  2 messages"
keys b "/fork" Enter
expect_screen "a fork says where it went" b "forked into session"
wait_for 5 test "$("$PARLEY_BIN" sessions list --json | jq length)" -eq 2
run_parley sessions list --json
expect_eq "the fork is a new session" 2 "$(jq length <<<"$OUT")"
F2=$(jq -r '.[0].id' <<<"$OUT")
expect_eq "with the branch on show only" '["how deep are fjords in Norway","echo: how deep are fjords in Norway"]' \
	"$("$PARLEY_BIN" sessions show "$F2" --json | jq -c '[.messages[].content]')"
keys b "and in Chile?" Enter
expect_screen "the chat goes on in the fork" b "echo: and in Chile?"
expect_eq "the fork got the turn" 4 "$("$PARLEY_BIN" sessions show "$F2" --json | jq '.messages | length')"
expect_eq "the original did not" 7 "$("$PARLEY_BIN" sessions show "$S" --json | jq '.messages | length')"

# not saved: no branches to show
start_repl n --provider ollama --base-url "$F_URL" -m llama3.2 --no-save
expect_screen "a prompt (not saved)" n ">>> "
keys n "hello" Enter
expect_screen "answered" n "echo: hello"
keys n "/branch" Enter
expect_screen "branches need the store" n "branches are kept in the session store; this chat is not saved"
done_testing
