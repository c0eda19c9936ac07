#!/bin/bash
# Backend faults in the full-screen face, driven through tmux as tui.sh
# does: a backend that is not there, an error line mid-stream, Esc against
# a backend that accepted and went silent, and kill -9 mid-stream with the
# store checked afterwards.
. "$TESTS_DIR/lib.sh"

if ! command -v tmux >/dev/null; then
	echo "1..0 # SKIP tmux is not installed"
	exit 0
fi

SOCK="parley-tuif-$$"
TMUXC="$T_DIR/tmux.conf"
printf 'set -g remain-on-exit on\nset -g status off\nset -g escape-time 0\n' >"$TMUXC"
tm() { tmux -L "$SOCK" -f "$TMUXC" "$@"; }
trap 'tm kill-server 2>/dev/null; t_cleanup' EXIT

export PARLEY_DB="$T_DIR/s.db"
N=0
start_tui() {
	N=$((N + 1))
	ERRF="$T_DIR/tui-err.$N"
	tm kill-session -t tui 2>/dev/null
	tm new-session -d -s tui -x 100 -y 30 \
		-e HOME="$HOME" -e XDG_CONFIG_HOME="$XDG_CONFIG_HOME" -e XDG_DATA_HOME="$XDG_DATA_HOME" \
		-e XDG_STATE_HOME="$XDG_STATE_HOME" -e PARLEY_DB="$PARLEY_DB" -e TERM=tmux-256color \
		"exec $PARLEY_BIN $* 2>$ERRF"
}
screen() { tm capture-pane -p -t tui; }
screen_has() { screen | grep -qF -- "$1"; }
keys() { tm send-keys -t tui "$@"; }
expect_screen() {
	if wait_for "${3:-10}" screen_has "$2"; then ok "$1"; else not_ok "$1" "no '$2' on the screen:" "$(screen)"; fi
}
pane_pid() { tm display-message -p -t tui '#{pane_pid}'; }
pane_dead() {
	local pid st
	pid=$(pane_pid)
	[ "$(tm display-message -p -t tui '#{pane_dead}')" = 1 ] || return 1
	st=$(ps -o stat= -p "$pid" 2>/dev/null)
	[ -z "$st" ] || [[ "$st" == Z* ]]
}
end_tui() {
	keys C-u C-d
	if wait_for 10 pane_dead && ! grep -qE 'Sanitizer|runtime error' "$ERRF"; then
		ok "$1"
	else
		not_ok "$1" "still running or failed:" "$(cat "$ERRF")" "$(screen)"
	fi
}

M='[{"name":"llama3.2:latest"}]'

# --- libcurl cannot be loaded: a fatal error leaves the terminal usable -----
tm kill-session -t tui 2>/dev/null
N=$((N + 1))
ERRF="$T_DIR/tui-err.$N"
tm new-session -d -s tui -x 100 -y 30 -e HOME="$HOME" -e XDG_DATA_HOME="$XDG_DATA_HOME" \
	-e PARLEY_DB="$PARLEY_DB" -e TERM=tmux-256color -e PARLEY_LIBCURL=libparley-missing.so.0 \
	"$PARLEY_BIN --provider ollama --base-url http://127.0.0.1:1 -m llama3.2 2>$ERRF; echo \$? >$ERRF.status"
# the status through the shell: tmux can be slow to reap a child that dies
# this early, and only then does it know the status
check "no libcurl: the TUI exits" wait_for 10 test -s "$ERRF.status"
expect_eq "no libcurl: exit status 1" 1 "$(cat "$ERRF.status" 2>/dev/null)"
expect_contains "no libcurl: the loader's reason is printed" "$(cat "$ERRF")" "cannot load libparley-missing.so.0"
normal_screen() { [ "$(tm display-message -p -t tui '#{alternate_on}')" = 0 ]; }
check "no libcurl: the terminal is back on its normal screen" wait_for 10 normal_screen

# --- nothing listening: the screen says where it looked ---------------------
port=$(free_port)
start_tui "--provider ollama --base-url http://127.0.0.1:$port -m llama3.2"
expect_screen "refused at start: says so" "Cannot reach the backend"
expect_screen "refused at start: the address it tried is shown" "could not connect to Ollama at http://127.0.0.1:$port"
expect_screen "refused at start: says how to start the backend" "ollama serve"
keys "hello there" Enter
expect_screen "refused: what was typed is not lost" "hello there"
end_tui "refused: the screen still quits cleanly"

# --- an error line mid-stream: text kept, the error in the message line -----
start_fake E ollama '{"models":'"$M"',"chat":{"tokens":["partial ","answer "],"error_after":2,"error":"CUDA out of memory"}}'
start_tui "--provider ollama --base-url $E_URL -m llama3.2"
expect_screen "error mid-stream: the screen is up" "llama3.2"
keys "go" Enter
expect_screen "error mid-stream: the backend's reason is shown" "CUDA out of memory"
expect_screen "error mid-stream: the text before it is kept" "partial answer"
end_tui "error mid-stream: quits cleanly"

# --- accepted, then silent: Esc cancels and the screen stays usable ---------
start_fake H ollama '{"models":'"$M"',"chat":[{"hang":true},{"tokens":["after the hang"]}]}'
start_tui "--provider ollama --base-url $H_URL -m llama3.2"
expect_screen "silent backend: the screen is up" "llama3.2"
keys "anyone there" Enter
wait_for 10 grep -q '/api/chat' "$H_LOG"
keys Escape
expect_screen "silent backend: Esc marks the reply interrupted" "interrupted" 5
keys "again" Enter
expect_screen "silent backend: the next message is answered" "after the hang"
end_tui "silent backend: quits cleanly"

# --- kill -9 mid-stream: the store is intact and holds what arrived ---------
# The backend sends a chunk every 20 ms from the moment the request lands,
# so by the kill about (elapsed / 20 ms) chunks have arrived; everything up
# to 1 s before the kill must be in the store (10% allowed for pacing).
start_fake K ollama '{"models":'"$M"',"chat":{"tokens":["chunk "],"repeat":3000,"delay_ms":20}}'
start_tui "--provider ollama --base-url $K_URL -m llama3.2 -s tuikill"
expect_screen "kill -9: the screen is up" "llama3.2"
keys "stream please" Enter
wait_for 10 grep -q '/api/chat' "$K_LOG"
t0=$(date +%s%N)
stored_len() { sqlite3 "$PARLEY_DB" "SELECT COALESCE(MAX(length(content)),0) FROM messages WHERE role='assistant'" 2>/dev/null || echo 0; }
wait_for 20 bash -c "[ \$(sqlite3 '$PARLEY_DB' \"SELECT COALESCE(MAX(length(content)),0) FROM messages WHERE role='assistant'\" 2>/dev/null || echo 0) -ge 600 ]"
pid=$(pane_pid)
kill -9 "$pid"
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
# gone, not a zombie: a writer that still exists keeps its reply "streaming"
wait_for 10 bash -c "! kill -0 $pid"
expect_eq "kill -9: integrity_check" ok "$(sqlite3 "$PARLEY_DB" 'PRAGMA integrity_check')"
run_parley --json sessions show tuikill
expect_eq "kill -9: the reply is marked interrupted" '"interrupted"' \
	"$(jq '[.messages[]|select(.role=="assistant")][-1].state' <<<"$OUT")"
got=$(jq -r '[.messages[]|select(.role=="assistant")][-1].content' <<<"$OUT" | grep -o chunk | wc -l)
want=$(((elapsed_ms - 1000) / 20 * 9 / 10))
check "kill -9: text up to 1 s before the kill is stored ($got chunks stored, $want expected after ${elapsed_ms} ms)" \
	test "$got" -ge "$want"

done_testing
