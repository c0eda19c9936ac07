#!/bin/bash
# The listener under abuse: slow and many connections, oversized headers,
# odd methods and paths, near-miss keys, hostile session ids and titles,
# and a kill -9 mid-stream. The server must stay up and answer normally.
. "$TESTS_DIR/lib.sh"

root=$(cd "$TESTS_DIR/.." && pwd)
SLOW="$T_DIR/slowconn"
if ! cc -O2 -Wall -Wextra -o "$SLOW" "$root/tests/tools/slowconn.c" 2>"$T_DIR/cc.log"; then
	not_ok "build slowconn" "$(cat "$T_DIR/cc.log")"
	done_testing
	exit 1
fi
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"
MODELS='[{"name":"llama3.2:latest"}]'

chat_body() { printf '{"model":"llama3.2","messages":[{"role":"user","content":"%s"}]%s}' "$1" "${2:-}"; }
code_of() { curl -s -m 10 -o "$T_DIR/body" -w '%{http_code}' "$@"; }

start_fake F ollama '{"models":'"$MODELS"',"chat":{"echo":true}}' || exit 1
export PARLEY_DB="$T_DIR/a.db"
start_serve S --provider ollama --base-url "$F_URL" --listen 127.0.0.1:0 || exit 1
PORT=${S_URL##*:}

# --- 1. slowloris -------------------------------------------------------------
for n in 100 300; do
	"$SLOW" drip "$PORT" "$n" 6 200 >"$T_DIR/drip" &
	dpid=$!
	wait_for 5 test "$(ls /proc/"$S_PID"/fd | wc -l)" -gt $((n < 128 ? n : 128))
	t=$(curl -s -m 5 -o "$T_DIR/h" -w '%{http_code} %{time_total}' "$S_URL/health")
	check "slowloris x$n: /health answered within 1 s ($t)" awk -v t="$t" 'BEGIN{split(t,a," "); exit !(a[1]==200 && a[2]<1)}'
	t=$(curl -s -m 5 -o "$T_DIR/h" -w '%{http_code} %{time_total}' "$S_URL/v1/chat/completions" -d "$(chat_body slow)")
	check "slowloris x$n: a chat completion answered within 1 s ($t)" awk -v t="$t" 'BEGIN{split(t,a," "); exit !(a[1]==200 && a[2]<1)}'
	wait "$dpid"
	echo "# slowconn: $(cat "$T_DIR/drip")"
done
served() { test "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$S_URL/health")" = 200; }
check "after the slow connections: served again" wait_for 10 served

# --- 2. a thousand at once ------------------------------------------------------
"$SLOW" full "$PORT" 1000 30 >"$T_DIR/full"
echo "# 1000 connections: $(cat "$T_DIR/full")"
expect_eq "1000 connections: each answered 200 or 503, none hung" "0 0 0" \
	"$(sed 's/.*other=\([0-9]*\) hung=\([0-9]*\) failed=\([0-9]*\)/\1 \2 \3/' "$T_DIR/full")"
check "1000 connections: served normally afterwards" wait_for 10 served

# --- 3. headers, methods, paths -------------------------------------------------
CODE=$(code_of -H "X-Big: $(head -c 100000 /dev/zero | tr '\0' 'h')" "$S_URL/v1/models")
check "100 KB header: 4xx or closed ($CODE)" test "$CODE" = 000 -o \( "$CODE" -ge 400 -a "$CODE" -lt 500 \)
for m in PUT TRACE BREW; do
	CODE=$(code_of -X "$m" "$S_URL/v1/models")
	check "method $m: 404/405/400 ($CODE)" test "$CODE" = 405 -o "$CODE" = 404 -o "$CODE" = 400
done
for p in '/../../etc/passwd' '/v1/sessions/..%2f..%2fetc%2fpasswd' '//v1/models' '/v1/models/../../etc/passwd'; do
	CODE=$(code_of --path-as-is "$S_URL$p")
	check "path $p: 404/405/400 ($CODE)" test "$CODE" = 404 -o "$CODE" = 405 -o "$CODE" = 400
	expect_not_contains "path $p: no file contents" "$(cat "$T_DIR/body")" "root:"
done
check "alive after the bad requests" served

# --- 4. keys ------------------------------------------------------------------------
start_serve K --provider ollama --base-url "$F_URL" --listen 127.0.0.1:0 --serve-key s3cret-KEY || exit 1
for a in '' 'Bearer wrong' 'Bearer s3cret-KEZ' 'Bearer s3cret-KE' 'Bearer s3cret-KEYY' 'Bearer s3cret-key' \
	's3cret-KEY' 'Basic s3cret-KEY' 'Basic czNjcmV0LUtFWQ==' 'Bearer  s3cret-KEY' 'bearer' 'Bearer '; do
	CODE=$(code_of ${a:+-H "Authorization: $a"} "$K_URL/v1/models")
	expect_eq "key '$a': 401 invalid_api_key" '401 "invalid_api_key"' "$CODE $(jq -c .error.code "$T_DIR/body" 2>/dev/null)"
done
expect_eq "right key: 200" 200 "$(code_of -H 'Authorization: Bearer s3cret-KEY' "$K_URL/v1/models")"
expect_eq "/health without a key: 200" 200 "$(code_of "$K_URL/health")"

# --- 5. hostile session ids and titles -----------------------------------------
code_of -H 'X-Session-Id: a' "$S_URL/v1/chat/completions" -d "$(chat_body alpha-secret)" >/dev/null
code_of -H 'X-Session-Id: b' "$S_URL/v1/chat/completions" -d "$(chat_body bravo-secret)" >/dev/null
for id in "'%20OR%201=1%20--" "a'%20OR%20'x'='x" '%25' 'a%00b' '..%2fb' '../b' '*' 'a%2f..%2fb' '%61'; do
	CODE=$(code_of --path-as-is "$S_URL/v1/sessions/$id")
	if [ "$id" = '%61' ]; then continue; fi
	check "session id $id: 400/404 ($CODE)" test "$CODE" = 400 -o "$CODE" = 404
	expect_not_contains "session id $id: nothing of b" "$(cat "$T_DIR/body")" "bravo-secret"
	expect_not_contains "session id $id: nothing of a" "$(cat "$T_DIR/body")" "alpha-secret"
done
evil="'; DROP TABLE sessions; --"
CODE=$(code_of -X PATCH "$S_URL/v1/sessions/a" -d "$(jq -nc --arg t "$evil" '{title:$t}')")
expect_eq "title with SQL: stored" 200 "$CODE"
curl -s "$S_URL/v1/sessions?limit=100" >"$T_DIR/list"
expect_eq "title stored verbatim" "$evil" "$(jq -r '.data[]|select(.id=="a").title' "$T_DIR/list")"
expect_eq "both sessions still there" "a b" "$(jq -r '[.data[].id|select(.=="a" or .=="b")]|sort|join(" ")' "$T_DIR/list")"
expect_eq "store integrity" ok "$(sqlite3 "$PARLEY_DB" 'PRAGMA integrity_check')"

# --- 6. kill -9 mid-stream -------------------------------------------------------
start_fake L ollama '{"models":'"$MODELS"',"chat":{"tokens":["tok "],"repeat":100000,"delay_ms":20}}' || exit 1
export PARLEY_DB="$T_DIR/k.db"
start_serve KL --provider ollama --base-url "$L_URL" --listen 127.0.0.1:0 || exit 1
curl -sN "$KL_URL/v1/chat/completions" -H 'X-Session-Id: killed' -d "$(chat_body go ',"stream":true')" >"$T_DIR/ks" &
cpid=$!
many() { test "$(grep -c '"content":"tok "' "$T_DIR/ks")" -ge 50; }
wait_for 20 many
got_before=$(grep -c '"content":"tok "' "$T_DIR/ks")
kill -9 "$KL_PID"
wait "$KL_PID" 2>/dev/null
wait "$cpid" 2>/dev/null
seen=$(grep '^data: {' "$T_DIR/ks" | sed 's/^data: //' | jq -rj '.choices[0].delta.content // empty')
expect_eq "after kill -9: store integrity" ok "$(sqlite3 "$PARLEY_DB" 'PRAGMA integrity_check')"
run_parley --db "$PARLEY_DB" sessions show killed --json
stored=$(jq -r '.messages[-1].content' <<<"$OUT")
check "after kill -9: stored is a prefix of what the client saw" test "${seen#"$stored"}" != "$seen" -o -z "$seen"
# 20 ms a token: less than a second behind means at most 50 tokens short
short=$(((${#seen} - ${#stored}) / 4))
check "after kill -9: at most 1 s of text lost (stored ${#stored} of ${#seen} chars, seen >= $got_before tokens)" test "$short" -le 50
expect_eq "after kill -9: the reply shows as interrupted" interrupted "$(jq -r '.messages[-1].state' <<<"$OUT")"

done_testing
