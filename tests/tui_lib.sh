# tests/tui_lib.sh: driving the full-screen face through tmux (sourced after
# lib.sh): a private server socket, a fixed-size window, keys in with
# send-keys, the screen out with capture-pane, every wait with a deadline.
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
