# tests/repl_lib.sh: driving the line-mode REPL through tmux (sourced after
# lib.sh): a private server socket, one session per REPL, keys in with
# send-keys, the screen (with scrollback) out with capture-pane, every
# wait with a deadline. REPL_ROWS (default 30) and REPL_SCROLLBACK
# (default 100) may be set before sourcing.
if ! command -v tmux >/dev/null 2>&1; then
	echo "not ok 1 - tmux is not installed (make deps)"
	exit 1
fi

SOCK="parley-test-$$"
TM() { tmux -L "$SOCK" -f /dev/null "$@"; }
trap 'TM kill-server 2>/dev/null; t_cleanup' EXIT

# start_repl NAME ARGS...: parley --repl in its own tmux session, 100 wide.
start_repl() {
	local name=$1 cmd
	shift
	cmd="$(printf '%q ' "$PARLEY_BIN" --repl "$@") 2>>$(printf '%q' "$T_DIR/$name.stderr"); echo \"[exit \$?]\"; sleep 600"
	TM new-session -d -s "$name" -x 100 -y "${REPL_ROWS:-30}" \
		-e HOME="$HOME" -e XDG_CONFIG_HOME="$XDG_CONFIG_HOME" -e XDG_DATA_HOME="$XDG_DATA_HOME" \
		-e XDG_STATE_HOME="$XDG_STATE_HOME" -e TERM=xterm-256color -e LANG=C.UTF-8 -e NO_PROXY='*' \
		-e ASAN_OPTIONS="${ASAN_OPTIONS:-}" -e UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" "$cmd"
}

# The screen with some scrollback.
screen() { TM capture-pane -p -J -S "-${REPL_SCROLLBACK:-100}" -t "$1"; }
keys() {
	local s=$1
	shift
	TM send-keys -t "$s" "$@"
}

# wait_screen SESSION TEXT SECONDS: until TEXT is on the screen.
wait_screen() {
	local end=$(($(date +%s%N) + $3 * 1000000000))
	while ! screen "$1" | grep -qF -- "$2"; do
		if [ "$(date +%s%N)" -gt "$end" ]; then
			WAITED=$(screen "$1" | grep -v '^$' | tail -n 12)
			return 1
		fi
		sleep 0.02
	done
}

# expect_screen NAME SESSION TEXT [SECONDS]
expect_screen() {
	if wait_screen "$2" "$3" "${4:-5}"; then
		ok "$1"
	else
		not_ok "$1" "waited for: $3" "screen:" "$WAITED"
	fi
}
