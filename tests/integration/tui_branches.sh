#!/bin/bash
# Branches in the full-screen face: a retried reply and an edited question
# show "‹2/2›" in their heads, Alt-< and Alt-> switch versions, /edit N
# offers the question in the input line, switching waits for a reply to
# end, a search hit on another branch shows that branch, and /branch lists
# them.
. "$TESTS_DIR/lib.sh"

if ! command -v tmux >/dev/null; then
	echo "1..0 # SKIP tmux is not installed"
	exit 0
fi

SOCK="parley-tui-$$"
TMUXC="$T_DIR/tmux.conf"
printf 'set -g remain-on-exit on\nset -g status off\nset -g set-clipboard on\nset -g escape-time 0\n' >"$TMUXC"
tm() { tmux -L "$SOCK" -f "$TMUXC" "$@"; }
tui_cleanup() {
	tm kill-server 2>/dev/null
	t_cleanup
}
trap tui_cleanup EXIT

N=0
# start_tui ARGS...: a new window running parley; its stderr goes to $ERRF.
start_tui() {
	N=$((N + 1))
	ERRF="$T_DIR/tui-err.$N"
	tm kill-session -t tui 2>/dev/null
	tm new-session -d -s tui -x 120 -y 40 \
		-e HOME="$HOME" -e XDG_CONFIG_HOME="$XDG_CONFIG_HOME" -e XDG_DATA_HOME="$XDG_DATA_HOME" \
		-e XDG_STATE_HOME="$XDG_STATE_HOME" -e TERM=tmux-256color \
		"exec $PARLEY_BIN $* 2>$ERRF"
}
screen() { tm capture-pane -p -t tui; }
screen_has() { screen | grep -qF -- "$1"; }
# wait_screen TEXT SECONDS: until TEXT is on the screen.
wait_screen() { wait_for "$2" screen_has "$1"; }
# the pane's process is gone (or a zombie tmux has not reaped yet)
pane_dead() {
	local pid st
	pid=$(tm display-message -p -t tui '#{pane_pid}')
	[ "$(tm display-message -p -t tui '#{pane_dead}')" = 1 ] || return 1
	st=$(ps -o stat= -p "$pid" 2>/dev/null)
	[ -z "$st" ] || [[ "$st" == Z* ]]
}
keys() { tm send-keys -t tui "$@"; }

# expect_screen NAME TEXT [SECONDS]
expect_screen() {
	if wait_screen "$2" "${3:-10}"; then ok "$1"; else not_ok "$1" "no '$2' on the screen:" "$(screen)"; fi
}

# end_tui NAME: quit with Ctrl-D on an empty input; the process must exit
# cleanly with no sanitizer report.
end_tui() {
	keys C-u C-d
	if wait_for 10 pane_dead && ! grep -qE 'Sanitizer|runtime error' "$ERRF"; then
		ok "$1"
	else
		not_ok "$1" "still running or failed:" "$(cat "$ERRF")" "$(screen)"
	fi
}

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
