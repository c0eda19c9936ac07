#!/bin/bash
# fakellm.sh: the test double itself, driven with curl, so the other tests
# can trust what it sends: compact NDJSON with a final done line, the pull
# sequence, the exact 404/405 texts, SSE ending in [DONE], a dropped
# connection, and the request log (connections numbered, Expect noted).
. "$(dirname "$0")/../lib.sh"

start_fake OL ollama '{
 "models":[{"name":"llama3.2:latest","capabilities":["completion","tools"]}],
 "chat":[{"thinking":["Simple"," sum."],"tokens":["Hel","lo <&>"]},
         {"tokens":["a","b","c"],"drop_after":1},
         {"tokens":["x"],"error_after":0,"error":"boom"}],
 "pull":{"steps":2,"layers":[
   {"digest":"sha256:dde5aa3fc5ffc17176b5e8bdc82f587b24b2678c6c66101bf7da77af9f7ccdff","total":1000},
   {"digest":"sha256:966de95ca8a62200913e3f8bfbf84c8494536f1b94b49166851e76644e966396","total":1429,"cached":true}]}
}' || exit 1

out=$(curl -s "$OL_URL/api/chat" -d '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}')
expect_eq "ollama chat: five lines" 5 "$(printf '%s\n' "$out" | wc -l)"
expect_eq "ollama chat: lines are compact (no spaces outside strings)" "" \
	"$(printf '%s\n' "$out" | jq -c . | sed 's/</\\u003c/g; s/>/\\u003e/g; s/&/\\u0026/g' |
		diff - <(printf '%s\n' "$out"))"
expect_contains "ollama chat: Go escapes <&>" "$out" 'lo \u003c\u0026\u003e'
expect_eq "ollama chat: thinking first" "Simple" "$(printf '%s\n' "$out" | head -1 | jq -r .message.thinking)"
last=$(printf '%s\n' "$out" | tail -1)
expect_eq "ollama chat: ends with done and stats" "true stop 14 4" \
	"$(jq -r '"\(.done) \(.done_reason) \(.prompt_eval_count) \(.eval_count)"' <<<"$last")"
expect_eq "ollama chat: durations are integer nanoseconds" "true" \
	"$(jq '[.total_duration,.load_duration,.prompt_eval_duration,.eval_duration]|all(type=="number" and .==floor and .>0)' <<<"$last")"

curl -s "$OL_URL/api/chat" -d '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}' >"$T_DIR/drop" 2>/dev/null
expect_eq "drop_after: curl sees a truncated body" 18 "$?"
expect_eq "drop_after: one whole line, then half of one" "1" "$(grep -c '"done":false}$' "$T_DIR/drop")"
check "drop_after: the tail is not a complete line" test "$(tail -c 1 "$T_DIR/drop" | od -An -c | tr -d ' ')" != '\n'

out=$(curl -s "$OL_URL/api/chat" -d '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}')
expect_eq "error_after 0: one error line" '{"error":"boom"}' "$out"

out=$(curl -s -w '\n%{http_code} %{content_type}' "$OL_URL/nope")
expect_eq "ollama 404 text" $'404 page not found\n404 text/plain' "$out"
out=$(curl -s -w '\n%{http_code}' -X POST "$OL_URL/api/tags")
expect_eq "ollama 405 text" $'405 method not allowed\n405' "$out"
out=$(curl -s -w '\n%{http_code}' "$OL_URL/api/chat" -d '{"model":"nope","messages":[]}')
expect_eq "ollama unknown model" $'{"error":"model \'nope\' not found"}\n404' "$out"

out=$(curl -s "$OL_URL/api/pull" -d '{"model":"qwen3"}')
expect_eq "pull: status sequence" "pulling manifest|pulling dde5aa3fc5ff|pulling dde5aa3fc5ff|pulling dde5aa3fc5ff|pulling 966de95ca8a6|verifying sha256 digest|writing manifest|success" \
	"$(printf '%s\n' "$out" | jq -r .status | paste -sd '|')"
expect_eq "pull: zero completed is omitted" "1000 null" \
	"$(printf '%s\n' "$out" | sed -n 2p | jq -r '"\(.total) \(.completed)"')"
expect_eq "pull: the model is listed afterwards" "llama3.2:latest qwen3:latest" \
	"$(curl -s "$OL_URL/api/tags" | jq -r '[.models[].name]|join(" ")')"

body=$(jq -c 'select(.path=="/api/pull")|del(.conn)' "$OL_LOG")
expect_eq "request log records method, path, body and Expect" '{"method":"POST","path":"/api/pull","authorization":null,"body":{"model":"qwen3"},"expect":null}' "$body"
n0=$(wc -l <"$OL_LOG")
curl -s -o /dev/null "$OL_URL/api/tags" -o /dev/null "$OL_URL/api/version"
curl -s -o /dev/null "$OL_URL/api/tags" -H 'Expect: 100-continue' -d x
expect_eq "request log numbers connections (two requests on one, one on the next) and keeps Expect" \
	'[0,0,1] [null,null,"100-continue"]' \
	"$(tail -n +$((n0 + 1)) "$OL_LOG" | jq -sc '([.[].conn] as $c | [$c[] - $c[0]]), [.[].expect]' | paste -sd ' ')"

start_fake OA openai '{"models":[{"name":"m"}],"api_key":"k","chat":{"tokens":["Hi"]}}' || exit 1
out=$(curl -s "$OA_URL/v1/chat/completions" -H 'Authorization: Bearer k' \
	-d '{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}')
expect_eq "openai SSE ends with [DONE]" "data: [DONE]" "$(printf '%s\n' "$out" | grep -v '^$' | tail -1)"
expect_eq "openai SSE deltas" '{"role":"assistant","content":""}|{"content":"Hi"}|{}' \
	"$(printf '%s\n' "$out" | sed -n 's/^data: {/{/p' | jq -c '.choices[0].delta' | paste -sd '|')"
out=$(curl -s -w ' %{http_code}' "$OA_URL/v1/chat/completions" -d '{"model":"m","messages":[{"role":"user","content":"hi"}]}')
expect_contains "openai without the key: 401 invalid_api_key" "$out" '"code":"invalid_api_key"}} 401'
expect_eq "request log records the authorization" '"Bearer k"' \
	"$(jq -c 'select(.path=="/v1/chat/completions")|.authorization' "$OA_LOG" | head -1)"

done_testing
