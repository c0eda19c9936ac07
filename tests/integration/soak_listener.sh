#!/bin/bash
# Soak for the listener: many requests to one parley serve process, plain
# and streamed mixed, over keep-alive in small parallel batches; resident
# memory and open descriptors sampled from /proc after warm-up and at the
# end. The release build is used (the sanitizers' quarantine grows RSS).
#   SOAK=full   10,000 requests (default: 2,000)
. "$TESTS_DIR/lib.sh"

root=$(cd "$TESTS_DIR/.." && pwd)
if ! make -s -C "$root" --no-print-directory BUILD=rel build/rel/parley >"$T_DIR/build.log" 2>&1; then
	not_ok "release build" "$(tail -n 5 "$T_DIR/build.log")"
	done_testing
	exit 1
fi
REL="$root/build/rel/parley"
TOTAL=2000
[ "${SOAK:-}" = full ] && TOTAL=10000
PAR=4
BATCH=50 # requests per curl process, one keep-alive connection
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }

start_fake F ollama '{"models":[{"name":"llama3.2:latest"}],"chat":{"echo":true}}' || exit 1
PARLEY_DB="$T_DIR/s.db" "$REL" --provider ollama --base-url "$F_URL" serve --listen 127.0.0.1:0 2>"$T_DIR/serr" &
pid=$!
T_PIDS+=($pid)
wait_for 20 grep -q 'listening on' "$T_DIR/serr" || {
	not_ok "serve starts" "$(cat "$T_DIR/serr")"
	done_testing
	exit 1
}
URL=$(grep -o 'listening on http://[^ ]*' "$T_DIR/serr" | sed 's/listening on //')

# batch K: BATCH requests on one connection, even ones streamed; every
# request its own session (X-Session-Id) so the transcript stays small
batch() {
	local k=$1 j args=()
	for ((j = 0; j < BATCH; j++)); do
		local s=false
		((j % 2)) && s=true
		[ $j -gt 0 ] && args+=(--next)
		args+=(-s -o "$T_DIR/b$k.$j" -w '%{http_code}\n' -H "X-Session-Id: soak-$k-$j"
			-d "{\"model\":\"llama3.2\",\"stream\":$s,\"messages\":[{\"role\":\"user\",\"content\":\"soak $k $j\"}]}"
			"$URL/v1/chat/completions")
	done
	curl "${args[@]}" >"$T_DIR/codes.$k"
	rm -f "$T_DIR/b$k".*
}

nb=$((TOTAL / BATCH))
warm=$((nb / 5))
bad=0
start=$(date +%s)
for ((k = 0; k < nb; k += PAR)); do
	pids=()
	for ((q = k; q < k + PAR && q < nb; q++)); do
		batch "$q" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	for ((q = k; q < k + PAR && q < nb; q++)); do
		n200=$(grep -c '^200$' "$T_DIR/codes.$q")
		[ "$n200" -eq "$BATCH" ] || bad=$((bad + BATCH - n200))
	done
	if [ -z "${rss0:-}" ] && ((k + PAR >= warm)); then
		rss0=$(rss_kb "$pid")
		fd0=$(fds "$pid")
	fi
done
secs=$(($(date +%s) - start))
# idle connections close on the server's side after the clients are gone
wait_for 10 test "$(fds "$pid")" -le "$fd0"
rss1=$(rss_kb "$pid")
fd1=$(fds "$pid")

expect_eq "soak: all $TOTAL requests answered 200 (${secs}s)" 0 "$bad"
check "soak: RSS after warm-up ${rss0} kB -> ${rss1} kB, growth under 5%" test $((rss1 * 100)) -lt $((rss0 * 105))
check "soak: open descriptors flat ($fd0 -> $fd1)" test "$fd1" -le "$fd0"
expect_eq "soak: every exchange recorded" $((TOTAL * 2)) "$(sqlite3 "$T_DIR/s.db" 'SELECT COUNT(*) FROM messages')"
kill "$pid"
wait "$pid"
expect_eq "soak: serve exits cleanly" 0 "$?"
done_testing
