#!/bin/bash
# Branches in the full-screen face: a retried reply and an edited question
# show "‹2/2›" in their heads, Alt-< and Alt-> switch versions, /edit N
# offers the question in the input line, switching waits for a reply to
# end, a search hit on another branch shows that branch, and /branch lists
# them.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/tui_lib.sh"

screen_lacks() { ! screen_has "$1"; }
chats() { grep -c '"/api/chat"' "$F_LOG" 2>/dev/null || echo 0; }

start_fake F ollama '{"models":[{"name":"llama3.2:latest"}],"chat":[
 {"tokens":["alpha reply"]},
 {"tokens":["beta reply"]},
 {"tokens":["slow "],"repeat":400,"delay_ms":20},
 {"echo":true}]}' || exit 1
OPTS="--provider ollama --base-url $F_URL -m llama3.2"

start_tui "$OPTS"
expect_screen "the screen starts" "llama3.2"
keys "name a greek letter" Enter
expect_screen "the first reply" "alpha reply"
keys C-r
expect_screen "a retry answers again" "beta reply"
expect_screen "the new reply is version 2 of 2" "‹2/2›"
if screen_has "alpha reply"; then not_ok "the old reply is off the screen" "$(screen)"; else ok "the old reply is off the screen"; fi
keys M-\<
expect_screen "Alt-< shows the old reply" "alpha reply"
expect_screen "marked version 1 of 2" "‹1/2›"
expect_screen "the message line says so" "version 1 of 2"
keys M-\<
expect_screen "there is nothing before version 1" "this is version 1 of 2"
keys M-\>
expect_screen "Alt-> goes back to the new one" "beta reply"
S=$("$PARLEY_BIN" sessions list --json | jq -r '.[0].id')
run_parley sessions show "$S" --tree
expect_contains "the store shows that branch" "$OUT" "*   assistant ‹2/2›: beta reply"

# /edit 1: the question in the input line, changed, a new branch
keys "/edit 1" Enter
expect_screen "the edit is announced" "editing a question"
expect_screen "the question is in the input" "name a greek letter"
keys C-e " slowly" Enter
expect_screen "the edited question streams its answer" "slow slow"
expect_screen "the question is version 2 of 2" "‹2/2›"
keys M-\<
expect_screen "switching waits for the reply" "a reply is still streaming; Esc stops it first"
keys Escape
wait_for 10 screen_has "interrupted"
keys M-\<
expect_screen "back on the first question" "beta reply"
expect_screen "the first question is version 1 of 2" "‹1/2›"
keys "/edit 1" Enter
expect_screen "editing again" "editing a question"
keys Escape
expect_screen "Esc drops the edit" "edit dropped"
# a search hit on another branch shows that branch
keys C-o
expect_screen "the sessions overlay" "Sessions"
keys Tab "alpha"
expect_screen "the hit is found" "alpha"
keys Enter
overlay_gone() { ! screen_has "filter:" && ! screen_has "search:"; }
check "the overlay closes" wait_for 10 overlay_gone
expect_screen "the hit's branch is on show" "alpha reply"
keys "/branch" Enter
expect_screen "branches listed" "(* the branch on show; /branch N shows another)"
end_tui "quits cleanly"
done_testing
