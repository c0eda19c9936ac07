#!/bin/bash
# The release build under valgrind (the sanitizer build cannot run there):
# pipe-mode exchanges that record to the store, resume, fail in the ways a
# backend fails, and get interrupted; plus the session commands. Each run
# must end with no memory errors and no leaks.
. "$TESTS_DIR/lib.sh"

if ! command -v valgrind >/dev/null 2>&1; then
	echo "ok 1 - valgrind # SKIP valgrind is not installed (make deps)"
	done_testing
	exit 0
fi
root=$(cd "$TESTS_DIR/.." && pwd)
if ! make -s -C "$root" --no-print-directory BUILD=rel build/rel/parley >"$T_DIR/build.log" 2>&1; then
	not_ok "release build" "$(tail -n 5 "$T_DIR/build.log")"
	done_testing
	exit 1
fi
REL="$root/build/rel/parley"
export PARLEY_DB="$T_DIR/s.db"
n=0

# vg NAME WANT_RC ARGS...: run the release binary under valgrind.
vg() {
	local name=$1 want=$2 log
	shift 2
	n=$((n + 1))
	log="$T_DIR/vg.$n.log"
	valgrind -q --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
		--log-file="$log" "$REL" "$@" >"$T_DIR/vg.out" 2>"$T_DIR/vg.err" </dev/null
	vg_check "$name" "$want" $? "$log"
}

vg_check() {
	local name=$1 want=$2 rc=$3 log=$4
	if [ "$rc" -eq "$want" ] && [ ! -s "$log" ]; then
		ok "valgrind: $name"
	else
		not_ok "valgrind: $name" "exit $rc (want $want)" "$(head -n 30 "$log")" "stderr: $(head -c 300 "$T_DIR/vg.err")"
	fi
}

start_fake F ollama '{"models":[{"name":"llama3.2:latest","capabilities":["completion","tools","thinking"]}],"chat":[{"thinking":["hmm"],"tokens":["Hel","lo ","日本"]},{"tokens":["one ","two"],"error_after":1,"error":"boom"},{"tokens":["one ","two"],"drop_after":1},{"tokens":["one "],"garbage_after":1},{"tokens":["x"],"chunk_bytes":1}]}'
O=(--provider ollama --base-url "$F_URL" -m llama3.2)
vg "stream, record to a new store" 0 "${O[@]}" -s vg "first question"
expect_eq "valgrind: the answer" "Hello 日本" "$(cat "$T_DIR/vg.out")"
vg "error line mid-stream" 5 "${O[@]}" -s vg "second"
vg "dropped connection" 5 "${O[@]}" -s vg "third"
vg "garbage line" 5 "${O[@]}" -s vg "fourth"
vg "one byte per read, --json" 0 "${O[@]}" -s vg --json "fifth"
vg "sessions list" 0 sessions list --json
vg "sessions show" 0 sessions show vg --json
expect_eq "valgrind: every exchange recorded" 10 "$(jq '.messages|length' "$T_DIR/vg.out")"
vg "sessions search" 0 sessions search question
vg "models" 0 "${O[@]}" models --json

start_fake W openai '{"models":[{"name":"m1"}],"chat":{"tool_calls":[{"id":"call_abc","name":"get_weather","arguments":{"city":"Tokyo"}}]}}'
vg "openai: fragmented tool call" 0 --provider openai --base-url "$W_URL" -m m1 --no-save --json "weather?"
vg "refused connection" 3 --provider ollama --base-url "http://127.0.0.1:$(free_port)" -m llama3.2 --no-save hi

# SIGINT mid-stream: the interrupted reply is stored and nothing leaks.
start_fake I ollama '{"models":[{"name":"llama3.2:latest"}],"chat":{"tokens":["tick "],"repeat":2000,"delay_ms":20}}'
n=$((n + 1))
valgrind -q --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
	--log-file="$T_DIR/vg.$n.log" "$REL" --provider ollama --base-url "$I_URL" -m llama3.2 -s vgint hi \
	>"$T_DIR/vg.out" 2>"$T_DIR/vg.err" </dev/null &
pid=$!
wait_for 30 grep -q tick "$T_DIR/vg.out"
kill -INT $pid
wait $pid
vg_check "SIGINT mid-stream" 130 $? "$T_DIR/vg.$n.log"

# The listener: parley serve under valgrind answers the routes, streams, a
# client that hangs up mid-stream and malformed requests, then SIGTERM.
start_fake L ollama '{"models":[{"name":"llama3.2:latest"}],"chat":[{"tokens":["Hel","lo"]},{"tokens":["Hel","lo"]},{"tokens":["tick "],"repeat":500,"delay_ms":20},{"tokens":["ok"]}]}'
n=$((n + 1))
valgrind -q --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
	--log-file="$T_DIR/vg.$n.log" "$REL" --provider ollama --base-url "$L_URL" -m llama3.2 \
	serve --listen 127.0.0.1:0 >"$T_DIR/vg.out" 2>"$T_DIR/vg.err" </dev/null &
pid=$!
if wait_for 60 grep -q 'listening on' "$T_DIR/vg.err"; then
	url=$(grep -o 'listening on http://[^ ]*' "$T_DIR/vg.err" | sed 's/listening on //')
	chat='{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]'
	expect_eq "valgrind serve: models" '"llama3.2:latest"' "$(curl -s "$url/v1/models" | jq -c '.data[0].id')"
	expect_eq "valgrind serve: a chat" '"Hello"' \
		"$(curl -s -H 'X-Session-Id: vgl' --data-binary "$chat}" "$url/v1/chat/completions" | jq -c '.choices[0].message.content')"
	expect_eq "valgrind serve: a streamed chat" 'Hello' \
		"$(curl -sN --data-binary "$chat,\"stream\":true}" "$url/v1/chat/completions" |
			grep '^data: {' | sed 's/^data: //' | jq -rj '.choices[0].delta.content // empty')"
	curl -sN --max-time 1 --data-binary "$chat,\"stream\":true}" "$url/v1/chat/completions" >/dev/null
	expect_eq "valgrind serve: a malformed body" 400 \
		"$(curl -s -o /dev/null -w '%{http_code}' --data-binary '{"model":' "$url/v1/chat/completions")"
	expect_eq "valgrind serve: the session it recorded" 2 "$(curl -s "$url/v1/sessions/vgl" | jq '.messages|length')"
	expect_eq "valgrind serve: still answers after the hang-up" '"ok"' \
		"$(curl -s --data-binary "$chat}" "$url/v1/chat/completions" | jq -c '.choices[0].message.content')"
	kill -TERM $pid
	wait $pid
	vg_check "parley serve, then SIGTERM" 0 $? "$T_DIR/vg.$n.log"
else
	kill $pid 2>/dev/null
	not_ok "valgrind serve: starts" "$(cat "$T_DIR/vg.err")"
fi

done_testing
