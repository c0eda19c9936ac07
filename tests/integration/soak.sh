#!/bin/bash
# Soak: many exchanges in one full-screen process, driven through tmux,
# with resident memory and open descriptors sampled from /proc. The
# release build is used (the sanitizers' quarantine would make RSS grow by
# design). A new session is started every 100 exchanges so that what the
# screen legitimately holds stays bounded and growth means a leak.
#   SOAK=full   1,000 exchanges (default: 200, for make check)
. "$TESTS_DIR/lib.sh"

if ! command -v tmux >/dev/null; then
	echo "1..0 # SKIP tmux is not installed"
	exit 0
fi
root=$(cd "$TESTS_DIR/.." && pwd)
if ! make -s -C "$root" --no-print-directory BUILD=rel build/rel/parley >"$T_DIR/build.log" 2>&1; then
	not_ok "release build" "$(tail -n 5 "$T_DIR/build.log")"
	done_testing
	exit 1
fi
REL="$root/build/rel/parley"
TOTAL=200
[ "${SOAK:-}" = full ] && TOTAL=1000
WARM=$((TOTAL / 5))

SOCK="parley-soak-$$"
TMUXC="$T_DIR/tmux.conf"
printf 'set -g remain-on-exit on\nset -g status off\nset -g escape-time 0\n' >"$TMUXC"
tm() { tmux -L "$SOCK" -f "$TMUXC" "$@"; }
trap 'tm kill-server 2>/dev/null; t_cleanup' EXIT
screen_has() { tm capture-pane -p -t soak | grep -qF -- "$1"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }

start_fake F ollama '{"models":[{"name":"llama3.2:latest"}],"chat":{"echo":true}}' || exit 1
tm new-session -d -s soak -x 100 -y 30 \
	-e HOME="$HOME" -e XDG_CONFIG_HOME="$XDG_CONFIG_HOME" -e XDG_DATA_HOME="$XDG_DATA_HOME" \
	-e XDG_STATE_HOME="$XDG_STATE_HOME" -e PARLEY_DB="$T_DIR/s.db" -e TERM=tmux-256color \
	"exec $REL --provider ollama --base-url $F_URL -m llama3.2 2>$T_DIR/err"
wait_for 10 screen_has "llama3.2" || {
	not_ok "the screen starts" "$(cat "$T_DIR/err")"
	done_testing
	exit 1
}
pid=$(tm display-message -p -t soak '#{pane_pid}')

failed_at=
start=$(date +%s)
for ((i = 1; i <= TOTAL; i++)); do
	tm send-keys -t soak "soak message $i" Enter
	if ! wait_for 10 screen_has "echo: soak message $i"; then
		failed_at=$i
		break
	fi
	if ((i % 100 == 0)); then
		tm send-keys -t soak "/new" Enter
	fi
	if ((i == WARM)); then
		rss0=$(rss_kb "$pid")
		fd0=$(fds "$pid")
	fi
done
secs=$(($(date +%s) - start))
rss1=$(rss_kb "$pid")
fd1=$(fds "$pid")

expect_eq "soak: all $TOTAL exchanges answered (${secs}s)" "" "$failed_at"
if [ -z "$failed_at" ]; then
	check "soak: RSS after warm-up ${rss0} kB -> ${rss1} kB, growth under 5%" test $((rss1 * 100)) -lt $((rss0 * 105))
	expect_eq "soak: open descriptors flat" "$fd0" "$fd1"
	expect_eq "soak: every exchange recorded" $((TOTAL * 2)) \
		"$(sqlite3 "$T_DIR/s.db" "SELECT COUNT(*) FROM messages")"
fi
tm send-keys -t soak C-u C-d
# gone, or a zombie tmux has not reaped yet
gone() { ! kill -0 "$pid" 2>/dev/null || [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" == Z* ]]; }
check "soak: quits cleanly" wait_for 10 gone

done_testing
