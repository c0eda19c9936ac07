#!/bin/bash
# Backend faults in pipe mode that pipe.sh does not already cover: HTTP
# errors with and without JSON bodies, invalid UTF-8 inside a token, a
# backend that accepts and then says nothing, a byte-at-a-time drip, a
# line far over the framing cap (memory stays bounded), and a store whose
# disk fills up while a reply is recorded.
. "$TESTS_DIR/lib.sh"

M='[{"name":"llama3.2:latest"}]'
P() { run_parley --no-save "$@"; }
OL() { P --provider ollama --base-url "$1" -m llama3.2 "${@:2}"; }
OA() { P --provider openai --base-url "$1" -m m1 "${@:2}"; }

# A server that accepts and never answers, found by discovery's ping: the
# ping gives up after 10 s (not the 10-minute read timeout meant for model
# loads). It runs in the background while the rest of the file does; its
# checks are at the end.
MUTE="$T_DIR/mute"
if cc -O2 -Wall -Wextra -o "$MUTE" "$TESTS_DIR/tools/mute.c" 2>"$T_DIR/mute.log"; then
	"$MUTE" "$T_DIR/mute.port" &
	MUTE_PID=$!
	wait_for 10 test -s "$T_DIR/mute.port"
	"$PARLEY_BIN" --no-save --base-url "http://127.0.0.1:$(cat "$T_DIR/mute.port")" -m llama3.2 hi \
		>"$T_DIR/mute.out" 2>"$T_DIR/mute.err" &
	WEDGED_PID=$!
else
	not_ok "build the silent server" "$(cat "$T_DIR/mute.log")"
fi
# A server that answers the ping and chats but never answers /api/show
# (asked once per model for its context window). A long first prompt does
# not wait for it (the newest message always goes whole); a history that
# might not fit does: the chat goes ahead after 10 s with the window
# unknown, and `parley show` gives up then. Checked at the end.
start_fake SHOWLESS ollama '{"models":[{"name":"llama3.2"}],"show_delay_ms":-1,"chat":{"tokens":["fine"]}}' || exit 1
SL=(--provider ollama --base-url "$SHOWLESS_URL" -m llama3.2 -s showless)
OUT=$(timeout 8 "$PARLEY_BIN" "${SL[@]}" "$(printf 'long %.0s' $(seq 1 2000))" 2>"$T_DIR/showless1.err")
expect_eq "/api/show never answers, one long message: answered without waiting for it" "0 fine" "$? $OUT"
"$PARLEY_BIN" "${SL[@]}" "and then?" >"$T_DIR/showless.out" 2>"$T_DIR/showless.err" &
SHOWLESS_CHAT=$!
start_fake SHOWLESS2 ollama '{"models":[{"name":"llama3.2"}],"show_delay_ms":-1}' || exit 1
"$PARLEY_BIN" --provider ollama --base-url "$SHOWLESS2_URL" show llama3.2 \
	>"$T_DIR/showless-show.out" 2>"$T_DIR/showless-show.err" &
SHOWLESS_SHOW=$!

# A short prompt fits any model's window: it does not wait for /api/show
# at all (done well inside the 10 s the lookup is given).
start_fake SHOWLESS3 ollama '{"models":[{"name":"llama3.2"}],"show_delay_ms":-1,"chat":{"tokens":["quick"]}}' || exit 1
OUT=$(timeout 8 "$PARLEY_BIN" --no-save --provider ollama --base-url "$SHOWLESS3_URL" -m llama3.2 hi 2>"$T_DIR/showless3.err")
expect_eq "/api/show never answers, a short prompt: answered without waiting for it" "0 quick" "$? $OUT"
expect_eq "/api/show never answers, a short prompt: still asked, beside the chat" "1 1" \
	"$(grep -c '"/api/show"' "$SHOWLESS3_LOG") $(grep -c '"/api/chat"' "$SHOWLESS3_LOG")"

# Interrupted while a long history waits for the window: exit 130 at once,
# the turn never sent, nothing left behind (the sanitizers watch the turn
# the lookup no longer waits for).
start_fake SHOWLESS4 ollama '{"models":[{"name":"llama3.2"}],"show_delay_ms":-1,"chat":{"tokens":["fine"]}}' || exit 1
SL4=(--provider ollama --base-url "$SHOWLESS4_URL" -m llama3.2 -s waiting)
timeout 8 "$PARLEY_BIN" "${SL4[@]}" "$(printf 'long %.0s' $(seq 1 2000))" >/dev/null 2>&1
"$PARLEY_BIN" "${SL4[@]}" "and then?" >/dev/null 2>"$T_DIR/showless4.err" &
pid=$!
two_shows() { [ "$(grep -c '"/api/show"' "$SHOWLESS4_LOG")" = 2 ]; }
if wait_for 8 two_shows; then
	kill -INT $pid
	wait $pid
	expect_eq "interrupted while waiting for /api/show: exit 130" 130 "$?"
	expect_eq "interrupted while waiting for /api/show: the chat was never sent" 1 "$(grep -c '"/api/chat"' "$SHOWLESS4_LOG")"
	check "interrupted while waiting for /api/show: clean under the sanitizers" \
		bash -c "! grep -qE 'Sanitizer|runtime error' '$T_DIR/showless4.err'"
else
	kill $pid 2>/dev/null
	not_ok "interrupted while waiting for /api/show: the lookup was made" "$(cat "$T_DIR/showless4.err")"
fi

# --- HTTP errors, with and without a JSON body ----------------------------
start_fake A ollama '{"models":'"$M"',"chat":{"status":404,"error":"model '"'"'llama3.2'"'"' not found"}}'
OL "$A_URL" hi
expect_eq "ollama 404 with a JSON error: model not found, exit 4" 4 "$RC"
expect_contains "ollama 404 with a JSON error: pull hint" "$ERR" "parley pull llama3.2"

start_fake B ollama '{"models":'"$M"',"chat":{"status":404,"error_raw":"404 page not found"}}'
OL "$B_URL" hi
expect_eq "ollama 404 without JSON: a wrong address, exit 5" 5 "$RC"
expect_contains "ollama 404 without JSON: the server's words" "$ERR" "answered 404: 404 page not found"
expect_contains "ollama 404 without JSON: points at the base URL" "$ERR" "base URL"
expect_not_contains "ollama 404 without JSON: no pull advice" "$ERR" "parley pull"

start_fake C ollama '{"models":'"$M"',"chat":{"status":429,"error":"server busy, please try again"}}'
OL "$C_URL" hi
expect_eq "ollama 429 JSON: exit 5" 5 "$RC"
expect_contains "ollama 429 JSON: status and reason" "$ERR" "429: server busy, please try again"
OL "$C_URL" --json hi
expect_eq "ollama 429 --json: an error event with the exit status" '5' "$(jq -r 'select(.type=="error").exit' <<<"$OUT")"

start_fake D ollama '{"models":'"$M"',"chat":{"status":429,"error_raw":"slow down"}}'
OL "$D_URL" hi
expect_eq "ollama 429 text: exit 5" 5 "$RC"
expect_contains "ollama 429 text: status and body" "$ERR" "429: slow down"

start_fake E ollama '{"models":'"$M"',"chat":{"status":500,"error_raw":"<html><body>Bad Gateway</body></html>"}}'
OL "$E_URL" hi
expect_eq "ollama 500 text: exit 5" 5 "$RC"
expect_contains "ollama 500 text: body excerpt" "$ERR" "500: <html><body>Bad Gateway"
expect_eq "ollama 500 text: nothing on stdout" "" "$OUT"

start_fake F openai '{"models":[{"name":"m1"}],"chat":{"status":429,"error":"Rate limit reached","error_type":"rate_limit_exceeded","retry_after":7}}'
OA "$F_URL" hi
expect_eq "openai 429 JSON: exit 5" 5 "$RC"
expect_contains "openai 429 JSON: status and reason" "$ERR" "429: Rate limit reached"

start_fake G openai '{"models":[{"name":"m1"}],"chat":{"status":500,"error_raw":"Internal Server Error"}}'
OA "$G_URL" hi
expect_eq "openai 500 text: exit 5" 5 "$RC"
expect_contains "openai 500 text: body" "$ERR" "500: Internal Server Error"

start_fake H openai '{"models":[{"name":"m1"}],"chat":{"status":404,"error_raw":"File Not Found"}}'
OA "$H_URL" hi
expect_eq "openai 404 without JSON: exit 5" 5 "$RC"
expect_contains "openai 404 without JSON: points at the base URL" "$ERR" "base URL"

# --- invalid UTF-8 inside a well-formed line: stop, keep what came -------
bad_ollama=$(printf '{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"caf\xc3 \xff"},"done":false}' | od -An -tx1 | tr -d ' \n')
start_fake U ollama '{"models":'"$M"',"chat":{"tokens":["one ","two ","three"],"garbage_after":2,"garbage_hex":"'"$bad_ollama"'"}}'
OL "$U_URL" hi
expect_eq "ollama invalid UTF-8: exit 5" 5 "$RC"
expect_eq "ollama invalid UTF-8: text before it kept" "one two " "$OUT"
expect_contains "ollama invalid UTF-8: says what was wrong" "$ERR" "malformed line from server: bytes that are not valid UTF-8"

bad_sse=$(printf '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m1","choices":[{"index":0,"delta":{"content":"\xed\xa0\x80"},"finish_reason":null}]}' | od -An -tx1 | tr -d ' \n')
start_fake V openai '{"models":[{"name":"m1"}],"chat":{"tokens":["one ","two ","three"],"garbage_after":1,"garbage_hex":"'"$bad_sse"'"}}'
OA "$V_URL" hi
expect_eq "openai invalid UTF-8: exit 5" 5 "$RC"
expect_eq "openai invalid UTF-8: text before it kept" "one " "$OUT"
expect_contains "openai invalid UTF-8: says what was wrong" "$ERR" "malformed data from server: bytes that are not valid UTF-8"

# --- one byte per read on the SSE path: escapes and characters split -------
start_fake S openai '{"models":[{"name":"m1"}],"chat":{"tokens":["日本語 ","🎉 ","tab\there ","\u0001 ","<&> ","\"q\""],"chunk_bytes":1}}'
OA "$S_URL" hi
expect_eq "openai one byte per read: exact text" "$(printf '日本語 🎉 tab\there \001 <&> "q"')" "$OUT"

# --- accepted, then silent: SIGINT cancels at once with 130 ----------------
for how in first_byte_delay_ms hang; do
	case $how in
	hang) scen='{"hang":true}' ;;
	*) scen='{"first_byte_delay_ms":600000}' ;;
	esac
	start_fake "Z_$how" ollama '{"models":'"$M"',"chat":'"$scen"'}'
	url_var="Z_${how}_URL" log_var="Z_${how}_LOG" pid_var="Z_${how}_PID"
	"$PARLEY_BIN" --no-save --provider ollama --base-url "${!url_var}" -m llama3.2 hi >"$T_DIR/z.out" 2>"$T_DIR/z.err" &
	pid=$!
	wait_for 10 grep -q '/api/chat' "${!log_var}"
	kill -INT $pid
	wait_for 3 bash -c "! kill -0 $pid"
	gone=$?
	[ $gone -ne 0 ] && kill -9 $pid
	wait $pid
	RC=$?
	expect_eq "silent backend ($how): SIGINT ends it promptly" 0 "$gone"
	expect_eq "silent backend ($how): exit 130" 130 "$RC"
	expect_contains "silent backend ($how): says interrupted" "$(cat "$T_DIR/z.err")" "interrupted"
	kill "${!pid_var}" 2>/dev/null
done

# --- a slow drip, a byte every 50 ms: a token shows once its line is whole --
start_fake R ollama '{"models":'"$M"',"chat":{"tokens":["Hello"," world"],"chunk_bytes":1,"drip_ms":50}}'
"$PARLEY_BIN" --no-save --provider ollama --base-url "$R_URL" -m llama3.2 hi >"$T_DIR/r.out" 2>"$T_DIR/r.err" &
pid=$!
if wait_for 20 grep -q Hello "$T_DIR/r.out"; then
	running=yes
	kill -0 $pid 2>/dev/null || running=no
	expect_eq "drip: the first token is on stdout while the reply still streams" yes "$running"
	expect_eq "drip: exactly the first token so far" "Hello" "$(cat "$T_DIR/r.out")"
else
	not_ok "drip: the first token is on stdout while the reply still streams" "stdout: $(cat "$T_DIR/r.out")"
fi
kill -INT $pid
wait $pid
expect_eq "drip: SIGINT mid-line is exit 130" 130 "$?"
expect_eq "drip: what was shown is kept" "Hello" "$(cat "$T_DIR/r.out")"

# --- one line far over the 8 MiB cap: refused, memory bounded -------------
# Peak RSS of a command (kB), from wait4() when it exits: sampling /proc
# while it runs can miss a peak just before the exit.
RUSAGE="$T_DIR/rusage"
cc -O2 -Wall -Wextra -o "$RUSAGE" "$TESTS_DIR/bench/rusage.c" 2>"$T_DIR/rusage.log" ||
	not_ok "build rusage" "$(cat "$T_DIR/rusage.log")"
# peak_rss OUT ERR CMD...: run CMD, print its peak RSS; its exit status is
# the last field of $T_DIR/ru.
peak_rss() {
	local out=$1 err=$2
	shift 2
	rm -f "$T_DIR/ru"
	"$RUSAGE" "$T_DIR/ru" "$@" >"$out" 2>"$err"
	awk '{ print $5 }' "$T_DIR/ru"
}
big_line() { # FLAVOR MODEL BYTES -> scenario file
	local f="$T_DIR/big-$3.json"
	{
		printf '{"models":[{"name":"%s"}],"chat":{"tokens":["start ","' "$2"
		head -c "$3" /dev/zero | tr '\0' x
		printf '","end"]}}'
	} >"$f"
	echo "$f"
}
start_fake N ollama '{"models":'"$M"',"chat":{"tokens":["start ","end"]}}'
base=$(peak_rss /dev/null /dev/null "$PARLEY_BIN" --no-save --provider ollama --base-url "$N_URL" -m llama3.2 hi)
for size in 10000000 30000000; do
	start_fake "L$size" ollama "$(cat "$(big_line ollama llama3.2:latest $size)")"
	url_var="L${size}_URL" pid_var="L${size}_PID"
	peak=$(peak_rss "$T_DIR/l.out" "$T_DIR/l.err" "$PARLEY_BIN" --no-save --provider ollama --base-url "${!url_var}" -m llama3.2 hi)
	RC=$(awk '{ print $6 }' "$T_DIR/ru")
	mb=$((size / 1000000))
	expect_eq "${mb} MB line: exit 5" 5 "$RC"
	expect_eq "${mb} MB line: text before it kept" "start " "$(cat "$T_DIR/l.out")"
	expect_contains "${mb} MB line: refused at the cap" "$(cat "$T_DIR/l.err")" "longer than 8 MiB"
	check "${mb} MB line: peak RSS ${peak} kB stays within baseline ${base} kB + 40 MB" test "$peak" -lt $((base + 40000))
	[ $size -eq 10000000 ] && peak10=$peak
	kill "${!pid_var}" 2>/dev/null
done
check "a 30 MB line costs no more than a 10 MB one ($peak kB vs $peak10 kB)" test "$peak" -lt $((peak10 + 8000))
start_fake K openai "$(cat "$(big_line openai m1 10000000)")"
OA "$K_URL" hi
expect_eq "openai 10 MB event: exit 5" 5 "$RC"
expect_contains "openai 10 MB event: refused at the cap" "$ERR" "longer than 8 MiB"
kill "$K_PID" 2>/dev/null
rm -f "$T_DIR"/big-*.json

# --- disk full while recording ---------------------------------------------
# A store on a small tmpfs of its own; without the right to mount one, a
# file size limit stands in (SIGXFSZ ignored, so writes fail with EFBIG).
start_fake W ollama '{"models":'"$M"',"chat":[{"tokens":["short answer"]},{"tokens":["long answer "],"repeat":20000}]}'
mnt="$T_DIR/small"
mkdir -p "$mnt"
if mount -t tmpfs -o size=1m tmpfs "$mnt" 2>/dev/null; then
	trap 'umount "$mnt" 2>/dev/null; t_cleanup' EXIT
	how=tmpfs
else
	how=ulimit
fi
DB="$mnt/s.db"
run_parley --provider ollama --base-url "$W_URL" -m llama3.2 --db "$DB" -s disk "first"
expect_eq "disk full: the first exchange is recorded" 0 "$RC"
if [ $how = tmpfs ]; then
	# leave room to open the store, not to record a 240 kB reply
	free_kb=$(df --output=avail -k "$mnt" | tail -n 1)
	dd if=/dev/zero of="$mnt/filler" bs=4k count=$(((free_kb - 96) / 4)) 2>/dev/null
	run_parley --provider ollama --base-url "$W_URL" -m llama3.2 --db "$DB" -s disk "second"
else
	(
		trap '' XFSZ
		ulimit -f $(($(stat -c %s "$DB") / 512 + 8))
		exec "$PARLEY_BIN" --provider ollama --base-url "$W_URL" -m llama3.2 --db "$DB" -s disk "second"
	) >"$T_DIR/full.out" 2>"$T_DIR/full.err"
	RC=$? OUT=$(cat "$T_DIR/full.out") ERR=$(cat "$T_DIR/full.err")
fi
want=$(printf 'long answer %.0s' $(seq 1 20000))
expect_eq "disk full ($how): the whole reply is still shown" "${want% }" "${OUT% }"
expect_contains "disk full ($how): a clear message" "$ERR" "full"
rm -f "$mnt/filler"
expect_eq "disk full ($how): integrity_check" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"
run_parley --db "$DB" --json sessions show disk
expect_eq "disk full ($how): the earlier exchange is intact" '"short answer"' "$(jq '.messages[1].content' <<<"$OUT")"

# --- the wedged backend started at the top ---------------------------------
if [ -n "${WEDGED_PID:-}" ]; then
	if wait_for 40 bash -c "! kill -0 $WEDGED_PID"; then
		wait "$WEDGED_PID"
		expect_eq "a backend that never answers the ping: unreachable, exit 3" 3 "$?"
		expect_contains "a backend that never answers the ping: says so" "$(cat "$T_DIR/mute.err")" \
			"accepted the connection but sent nothing for 10 s"
	else
		kill "$WEDGED_PID"
		not_ok "a backend that never answers the ping: parley gives up" "$(cat "$T_DIR/mute.err")"
	fi
	kill "$MUTE_PID" 2>/dev/null
	wait "$MUTE_PID" 2>/dev/null
fi
if wait_for 40 bash -c "! kill -0 $SHOWLESS_CHAT && ! kill -0 $SHOWLESS_SHOW"; then
	wait "$SHOWLESS_CHAT"
	expect_eq "/api/show never answers, a long history: the chat still answers" "0 fine" "$? $(cat "$T_DIR/showless.out")"
	expect_eq "/api/show never answers: a long history asks it first, then chats" "/api/show /api/chat" \
		"$(jq -r 'select(.path == "/api/show" or .path == "/api/chat") | .path' "$SHOWLESS_LOG" | tail -n 2 | tr '\n' ' ' | sed 's/ $//')"
	wait "$SHOWLESS_SHOW"
	expect_eq "/api/show never answers: parley show gives up, exit 3" 3 "$?"
	expect_contains "/api/show never answers: parley show says so" "$(cat "$T_DIR/showless-show.err")" \
		"sent nothing for 10 s"
else
	kill "$SHOWLESS_CHAT" "$SHOWLESS_SHOW" 2>/dev/null
	not_ok "/api/show never answers: parley gives up waiting for it" "$(cat "$T_DIR/showless.err")"
fi

done_testing
