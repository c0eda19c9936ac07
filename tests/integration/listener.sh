#!/bin/bash
# The listener (parley serve) through curl against the backend doubles:
# every route with its statuses and shapes, session binding, the drop-in
# routes, backend failures, a table of malformed requests, the key, CORS,
# the limits, a client hanging up, and 32 concurrent streams.
. "$TESTS_DIR/lib.sh"

MODELS='[{"name":"llama3.2:latest","capabilities":["completion","tools","thinking","vision"]},{"name":"qwen3:8b"}]'

# req METHOD URL [BODY] [CURL ARGS...]: sets CODE, BODY (response) and HDRS.
req() {
	local method=$1 url=$2 data=${3-} h="$T_DIR/hdrs" b="$T_DIR/body"
	shift 2
	[ $# -gt 0 ] && shift
	if [ -n "$data" ]; then
		CODE=$(curl -s -X "$method" -o "$b" -D "$h" -w '%{http_code}' --data-binary "$data" "$@" "$url")
	else
		CODE=$(curl -s -X "$method" -o "$b" -D "$h" -w '%{http_code}' "$@" "$url")
	fi
	BODY=$(cat "$b")
	HDRS=$(tr -d '\r' <"$h")
}
hdr() { printf '%s\n' "$HDRS" | grep -i "^$1:" | head -1 | sed 's/^[^:]*: //'; }
chat_body() { printf '{"model":"llama3.2","messages":[{"role":"user","content":"%s"}]%s}' "$1" "${2:-}"; }
last_req() { grep '"/api/chat"' "$1" | tail -n 1 | jq -c "$2"; }
# content of an SSE stream of chat chunks, joined
sse_content() { grep '^data: {' | sed 's/^data: //' | jq -rj '.choices[0].delta.content // empty'; }

# --- serve, models, health --------------------------------------------------
start_fake F ollama '{"models":'"$MODELS"',"chat":{"echo":true}}' || exit 1
start_serve S --provider ollama --base-url "$F_URL" --listen 127.0.0.1:0 || exit 1
expect_contains "serve says where it listens and which backend" "$(cat "$S_ERR")" "(backend ollama at $F_URL)"

req GET "$S_URL/v1/models"
expect_eq "models: 200 JSON" "200 application/json" "$CODE $(hdr content-type)"
expect_eq "models: OpenAI list" '"list" ["llama3.2:latest","qwen3:8b"] ["model"]' \
	"$(jq -c '.object, [.data[].id], ([.data[].object]|unique)' <<<"$BODY" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "models: created and owned_by" 'true' "$(jq '[.data[]|(.created|type=="number") and .owned_by=="library"]|all' <<<"$BODY")"
req GET "$S_URL/v1/models/llama3.2"
expect_eq "one model" '200 "llama3.2"' "$CODE $(jq -c .id <<<"$BODY")"
req GET "$S_URL/v1/models/nope"
expect_eq "unknown model: 404 model_not_found" '404 "model_not_found" "invalid_request_error"' \
	"$CODE $(jq -c '.error.code, .error.type' <<<"$BODY" | tr '\n' ' ' | sed 's/ $//')"
req GET "$S_URL/health"
expect_eq "health" '200 {"status":"healthy","model_loaded":true,"provider":"ollama"}' \
	"$CODE $(jq -c '{status,model_loaded,provider:.backend.provider}' <<<"$BODY")"
req GET "$S_URL/openapi.json"
expect_eq "openapi lists every route" '["/","/api/chat","/api/embed","/api/embeddings","/api/generate","/api/ps","/api/pull","/api/show","/api/tags","/api/version","/chat","/chat/clear","/chat/stream","/health","/openapi.json","/sessions","/v1/chat/completions","/v1/models","/v1/models/{model}","/v1/sessions","/v1/sessions/{id}"]' \
	"$(jq -c '.paths|keys' <<<"$BODY")"
expect_eq "openapi: sessions/{id} has get, patch, delete" '["delete","get","patch"]' "$(jq -c '.paths["/v1/sessions/{id}"]|keys' <<<"$BODY")"

# --- chat completions -------------------------------------------------------
req POST "$S_URL/v1/chat/completions" "$(chat_body hi)"
expect_eq "chat: 200 JSON" "200 application/json" "$CODE $(hdr content-type)"
expect_eq "chat: the answer" '"echo: hi"' "$(jq -c '.choices[0].message.content' <<<"$BODY")"
expect_eq "chat: OpenAI shape" '"chat.completion" "assistant" "stop" 0' \
	"$(jq -c '.object, .choices[0].message.role, .choices[0].finish_reason, .choices[0].index' <<<"$BODY" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "chat: usage" '{"prompt_tokens":14,"completion_tokens":2,"total_tokens":16}' "$(jq -c .usage <<<"$BODY")"
check "chat: id chatcmpl-" grep -q '"id":"chatcmpl-' <<<"$BODY"
sid=$(hdr x-session-id)
check "chat: X-Session-Id header" test -n "$sid"
expect_eq "chat: backend asked to stream" 'true' "$(last_req "$F_LOG" .body.stream)"

curl -sN -D "$T_DIR/sh" "$S_URL/v1/chat/completions" \
	-d "$(chat_body "hello there" ',"stream":true,"stream_options":{"include_usage":true}')" >"$T_DIR/s1"
expect_eq "stream: event-stream" "text/event-stream" "$(tr -d '\r' <"$T_DIR/sh" | grep -i '^content-type:' | sed 's/^[^:]*: //')"
expect_eq "stream: content" "echo: hello there" "$(sse_content <"$T_DIR/s1")"
expect_eq "stream: role chunk first" '{"role":"assistant","content":""}' "$(grep -m1 '^data: ' "$T_DIR/s1" | sed 's/^data: //' | jq -c '.choices[0].delta')"
expect_eq "stream: finish chunk" '{"delta":{},"finish_reason":"stop"}' \
	"$(grep '^data: {' "$T_DIR/s1" | sed 's/^data: //' | jq -c 'select(.choices[0].finish_reason != null)|.choices[0]|{delta,finish_reason}')"
expect_eq "stream: usage chunk after the finish" '{"choices":[],"usage":{"prompt_tokens":14,"completion_tokens":3,"total_tokens":17}}' \
	"$(grep '^data: {' "$T_DIR/s1" | tail -1 | sed 's/^data: //' | jq -c '{choices,usage}')"
expect_eq "stream: other chunks say usage null" 'true' \
	"$(grep '^data: {' "$T_DIR/s1" | head -n -1 | sed 's/^data: //' | jq -s '[.[]|has("usage") and .usage == null]|all')"
expect_eq "stream: ends with [DONE]" "data: [DONE]" "$(grep -v '^$' "$T_DIR/s1" | tail -1)"
expect_eq "stream: one id, one created" '1 1' \
	"$(grep '^data: {' "$T_DIR/s1" | sed 's/^data: //' | jq -rs '"\(map(.id)|unique|length) \(map(.created)|unique|length)"')"
expect_eq "stream: events are data: lines and blank lines only" "" "$(grep -v -e '^data: ' -e '^$' "$T_DIR/s1")"
curl -sN "$S_URL/v1/chat/completions" -d "$(chat_body x ',"stream":true')" >"$T_DIR/s2"
expect_eq "stream without include_usage: no usage anywhere" "" "$(grep -o '"usage"' "$T_DIR/s2")"

# options mapped to Ollama's
req POST "$S_URL/v1/chat/completions" '{"model":"llama3.2","messages":[{"role":"user","content":"o"}],"temperature":0.3,"top_p":0.9,"max_tokens":7,"stop":"END","seed":42}'
expect_eq "options: temperature, top_p, num_predict, stop, seed" '{"num_predict":7,"seed":42,"stop":["END"],"temperature":0.3,"top_p":0.9}' \
	"$(last_req "$F_LOG" '.body.options|to_entries|sort_by(.key)|from_entries')"
req POST "$S_URL/v1/chat/completions" '{"model":"llama3.2","messages":[{"role":"user","content":"o"}],"max_completion_tokens":9,"stop":["a","b"]}'
expect_eq "options: max_completion_tokens, stop list" '{"num_predict":9,"stop":["a","b"]}' "$(last_req "$F_LOG" '.body.options')"
req POST "$S_URL/v1/chat/completions" '{"model":"llama3.2","messages":[{"role":"user","content":"o"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}}'
expect_eq "response_format json_schema -> format" '{"type":"object"}' "$(last_req "$F_LOG" .body.format)"
req POST "$S_URL/v1/chat/completions" '{"model":"llama3.2","messages":[{"role":"user","content":"o"}],"response_format":{"type":"json_object"}}'
expect_eq "response_format json_object -> json" '"json"' "$(last_req "$F_LOG" .body.format)"
req POST "$S_URL/v1/chat/completions" '{"model":"llama3.2","messages":[{"role":"user","content":"o"}]}'
expect_eq "options of one request do not stick to the next" 'null null' "$(last_req "$F_LOG" '.body.options, .body.format' | tr '\n' ' ' | sed 's/ $//')"
req POST "$S_URL/v1/chat/completions" '{"model":"llama3.2","messages":[{"role":"user","content":"w"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}'
expect_eq "tools passed" '"get_weather"' "$(last_req "$F_LOG" '.body.tools[0].function.name')"
req POST "$S_URL/v1/chat/completions" '{"model":"llama3.2","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAA="}}]}]}'
expect_eq "image data URL -> raw base64 for Ollama" '["iVBORw0KGgoAAAA="]' "$(last_req "$F_LOG" '.body.messages[-1].images')"
expect_eq "system prompt first" '{"role":"system","content":"be brief"}' "$(last_req "$F_LOG" '.body.messages[0]|{role,content}')"

# --- session binding ------------------------------------------------------
req POST "$S_URL/v1/chat/completions" "$(chat_body one)" -H 'X-Session-Id: proj.alpha-1'
expect_eq "X-Session-Id names a new session" "200 proj.alpha-1" "$CODE $(hdr x-session-id)"
req POST "$S_URL/v1/chat/completions" "$(chat_body two)" -H 'X-Session-Id: proj.alpha-1'
expect_eq "bound: the stored transcript is prepended" '["one","echo: one","two"]' "$(last_req "$F_LOG" '[.body.messages[].content]')"
req POST "$S_URL/v1/chat/completions" '{"model":"llama3.2","session_id":"proj.alpha-1","messages":[{"role":"user","content":"one"},{"role":"assistant","content":"echo: one"},{"role":"user","content":"two"},{"role":"assistant","content":"echo: two"},{"role":"user","content":"three"}]}'
expect_eq "session_id field; history resent: only the rest is new" '["one","echo: one","two","echo: two","three"]' "$(last_req "$F_LOG" '[.body.messages[].content]')"
req GET "$S_URL/v1/sessions/proj.alpha-1"
expect_eq "the session holds the conversation once" '["one","echo: one","two","echo: two","three","echo: three"]' "$(jq -c '[.messages[].content]' <<<"$BODY")"
expect_eq "session shape" '{"id":"proj.alpha-1","object":"session","origin":"api","message_count":6}' "$(jq -c '{id,object,origin,message_count}' <<<"$BODY")"

req POST "$S_URL/v1/chat/completions" "$(chat_body "plan a trip to Oslo")"
s1=$(hdr x-session-id)
req POST "$S_URL/v1/chat/completions" '{"model":"llama3.2","messages":[{"role":"user","content":"plan a trip to Oslo"},{"role":"assistant","content":"echo: plan a trip to Oslo"},{"role":"user","content":"in May"}]}'
expect_eq "no id: found by the opening messages" "$s1" "$(hdr x-session-id)"
expect_eq "found session: nothing duplicated" '3' "$(last_req "$F_LOG" '.body.messages|length')"
req POST "$S_URL/v1/chat/completions" "$(chat_body "plan a trip to Oslo")"
check "same opening, fresh conversation: a new session" test "$(hdr x-session-id)" != "$s1"
req POST "$S_URL/v1/chat/completions" '{"model":"llama3.2","messages":[{"role":"system","content":"other"},{"role":"user","content":"plan a trip to Oslo"},{"role":"assistant","content":"echo: plan a trip to Oslo"},{"role":"user","content":"in May"}]}'
check "another system prompt: another session" test "$(hdr x-session-id)" != "$s1"
req POST "$S_URL/v1/chat/completions" "$(chat_body hi)" -H 'X-Session-Id: bad id!'
expect_eq "invalid session id: 400 naming it" '400 "session_id"' "$CODE $(jq -c .error.param <<<"$BODY")"

# --- tool calls and thinking ------------------------------------------------
start_fake T ollama '{"models":'"$MODELS"',"chat":[
 {"tokens":[],"tool_calls":[{"id":"call_k3x9a0qe","name":"get_weather","arguments":{"city":"Tokyo"}}]},
 {"tokens":[],"tool_calls":[{"name":"get_weather","arguments":{"city":"Oslo"}},{"name":"get_time","arguments":{}}]},
 {"thinking":["Simple"," sum."],"tokens":["4"]},
 {"tokens":["It is 11 degrees."]}]}' || exit 1
start_serve ST --provider ollama --base-url "$T_URL" --listen 127.0.0.1:0 || exit 1
TOOLS='"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]'
curl -sN "$ST_URL/v1/chat/completions" -d "$(chat_body "weather in Tokyo?" ",\"stream\":true,$TOOLS")" >"$T_DIR/t1"
frags=$(grep '^data: {' "$T_DIR/t1" | sed 's/^data: //' | jq -c '.choices[0].delta.tool_calls // empty')
expect_eq "streamed tool call: id, type and name first, empty arguments" '[{"index":0,"id":"call_k3x9a0qe","type":"function","function":{"name":"get_weather","arguments":""}}]' "$(head -1 <<<"$frags")"
expect_eq "streamed tool call: then the arguments" '[{"index":0,"function":{"arguments":"{\"city\":\"Tokyo\"}"}}]' "$(sed -n 2p <<<"$frags")"
expect_eq "streamed tool call: finish_reason tool_calls" '"tool_calls"' \
	"$(grep '^data: {' "$T_DIR/t1" | sed 's/^data: //' | jq -c 'select(.choices[0].finish_reason != null)|.choices[0].finish_reason')"
req POST "$ST_URL/v1/chat/completions" "$(chat_body "weather in Oslo?" ",$TOOLS")"
expect_eq "tool calls: content null, indexed calls with ids" 'null ["get_weather","get_time"] true "tool_calls"' \
	"$(jq -c '.choices[0].message.content, [.choices[0].message.tool_calls[].function.name], ([.choices[0].message.tool_calls[].id|startswith("call_")]|all), .choices[0].finish_reason' <<<"$BODY" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "tool calls: arguments are JSON text" '"{\"city\":\"Oslo\"}"' "$(jq -c '.choices[0].message.tool_calls[0].function.arguments' <<<"$BODY")"
curl -sN "$ST_URL/v1/chat/completions" -d "$(chat_body "2+2?" ',"stream":true')" >"$T_DIR/t3"
expect_eq "thinking as reasoning_content" "Simple sum." \
	"$(grep '^data: {' "$T_DIR/t3" | sed 's/^data: //' | jq -rj '.choices[0].delta.reasoning_content // empty')"
req POST "$ST_URL/v1/chat/completions" '{"model":"llama3.2",'"$TOOLS"',"messages":[{"role":"user","content":"weather in Tokyo?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_k3x9a0qe","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Tokyo\"}"}}]},{"role":"tool","tool_call_id":"call_k3x9a0qe","content":"11 degrees"}]}'
expect_eq "tool result turn answered" '"It is 11 degrees."' "$(jq -c '.choices[0].message.content' <<<"$BODY")"
expect_eq "tool result sent with its function's name" '{"role":"tool","content":"11 degrees","tool_name":"get_weather"}' \
	"$(last_req "$T_LOG" '.body.messages[-1]|{role,content,tool_name}')"
expect_eq "assistant tool call sent back as an object" '{"city":"Tokyo"}' \
	"$(last_req "$T_LOG" '.body.messages[-2].tool_calls[0].function.arguments')"

# --- backend failures -------------------------------------------------------
req POST "$S_URL/v1/chat/completions" '{"model":"nope","messages":[{"role":"user","content":"hi"}]}'
expect_eq "model missing: 404 model_not_found" '404 "model_not_found" "model"' "$CODE $(jq -c '.error.code, .error.param' <<<"$BODY" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "404 says do not retry" "false" "$(hdr x-should-retry)"
req POST "$S_URL/v1/chat/completions" '{"model":"nope","stream":true,"messages":[{"role":"user","content":"hi"}]}'
expect_eq "model missing, streamed: still a 404" '404 "model_not_found"' "$CODE $(jq -c .error.code <<<"$BODY")"

start_fake E ollama '{"models":'"$MODELS"',"chat":[{"tokens":["a","b","c"],"error_after":2,"error":"GPU on fire"},{"status":500,"error":"boom"}]}' || exit 1
start_serve SE --provider ollama --base-url "$E_URL" --listen 127.0.0.1:0 || exit 1
curl -sN "$SE_URL/v1/chat/completions" -d "$(chat_body x ',"stream":true')" >"$T_DIR/e1"
expect_eq "mid-stream failure: what came, then an error event" 'ab' "$(sse_content <"$T_DIR/e1")"
expect_contains "mid-stream failure: the error object" "$(grep '^data: {"error"' "$T_DIR/e1")" 'GPU on fire'
expect_eq "mid-stream failure: no [DONE]" "" "$(grep -F '[DONE]' "$T_DIR/e1")"
req POST "$SE_URL/v1/chat/completions" "$(chat_body x)"
expect_eq "backend HTTP error: 502 server_error" '502 "server_error"' "$CODE $(jq -c .error.type <<<"$BODY")"

start_serve SD --provider ollama --base-url "http://127.0.0.1:$(free_port)" --listen 127.0.0.1:0 || exit 1
expect_contains "serve starts with the backend down, saying so" "$(cat "$SD_ERR")" "serving anyway"
req POST "$SD_URL/v1/chat/completions" "$(chat_body x)"
expect_eq "backend down: 503" '503 "server_error"' "$CODE $(jq -c .error.type <<<"$BODY")"
req GET "$SD_URL/v1/models"
expect_eq "backend down: models 503" "503" "$CODE"
req GET "$SD_URL/health"
expect_eq "health with the backend down: 503 with reasons" '503 "unhealthy" false true' \
	"$CODE $(jq -c '.status, .model_loaded, (.reasons|length > 0)' <<<"$BODY" | tr '\n' ' ' | sed 's/ $//')"
req POST "$SD_URL/chat" '{"message":"hi","model":"llama3.2"}'
expect_eq "drop-in, backend down: 503 detail" '503 true' "$CODE $(jq -c 'has("detail")' <<<"$BODY")"

# --- sessions -----------------------------------------------------------------
req GET "$S_URL/v1/sessions"
expect_eq "sessions: a list with the bound one" 'true' "$(jq '.object == "list" and ([.data[].id]|index("proj.alpha-1") != null)' <<<"$BODY")"
req PATCH "$S_URL/v1/sessions/proj.alpha-1" '{"title":"Alpha plans"}'
expect_eq "rename" '200 "Alpha plans"' "$CODE $(jq -c .title <<<"$BODY")"
req PATCH "$S_URL/v1/sessions/proj.alpha-1" '{"title":5}'
expect_eq "rename with a bad title: 400 naming it" '400 "title"' "$CODE $(jq -c .error.param <<<"$BODY")"
run_parley sessions list
expect_contains "parley sessions lists listener sessions" "$OUT" "Alpha plans"
req GET "$S_URL/v1/sessions/nope"
expect_eq "unknown session: 404" '404 "session_not_found"' "$CODE $(jq -c .error.code <<<"$BODY")"
req DELETE "$S_URL/v1/sessions/proj.alpha-1"
expect_eq "delete" '200 true' "$CODE $(jq -c .deleted <<<"$BODY")"
req GET "$S_URL/v1/sessions/proj.alpha-1"
expect_eq "deleted is gone" "404" "$CODE"

# --- drop-in routes ---------------------------------------------------------
req POST "$S_URL/chat" '{"message":"ping"}'
expect_eq "/chat: response, session_id, tokens_used" '200 "echo: ping" true true' \
	"$CODE $(jq -c '.response, (.session_id|length > 0), (.tokens_used > 0)' <<<"$BODY" | tr '\n' ' ' | sed 's/ $//')"
csid=$(jq -r .session_id <<<"$BODY")
expect_eq "/chat without a model: the backend's first" '"llama3.2:latest"' "$(last_req "$F_LOG" .body.model)"
req POST "$S_URL/chat" "{\"message\":\"again\",\"session_id\":\"$csid\",\"temperature\":0.5,\"max_tokens\":5,\"top_p\":0.8,\"model\":\"qwen3:8b\"}"
expect_eq "/chat continues the session" '["ping","echo: ping","again"]' "$(last_req "$F_LOG" '[.body.messages[].content]')"
expect_eq "/chat options and model" '"qwen3:8b" {"num_predict":5,"temperature":0.5,"top_p":0.8}' \
	"$(last_req "$F_LOG" '.body.model, (.body.options|to_entries|sort_by(.key)|from_entries)' | tr '\n' ' ' | sed 's/ $//')"
req POST "$S_URL/chat" '{"message":"   "}'
expect_eq "/chat empty message: 400 detail" '400 true false' "$CODE $(jq -c 'has("detail"), has("error")' <<<"$BODY" | tr '\n' ' ' | sed 's/ $//')"
curl -sN "$S_URL/chat/stream" -d "{\"message\":\"stream me\",\"session_id\":\"$csid\"}" >"$T_DIR/d1"
expect_eq "/chat/stream: tokens" "echo: stream me" "$(grep '^data: ' "$T_DIR/d1" | sed 's/^data: //' | jq -rj '.token // empty')"
expect_eq "/chat/stream: done with the session" "{\"done\":true,\"session_id\":\"$csid\"}" "$(grep '^data: ' "$T_DIR/d1" | tail -1 | sed 's/^data: //')"
req POST "$S_URL/chat/clear" "{\"session_id\":\"$csid\"}"
expect_eq "/chat/clear" "200 {\"status\":\"cleared\",\"session_id\":\"$csid\"}" "$CODE $BODY"
req GET "$S_URL/v1/sessions/$csid"
expect_eq "cleared: no messages" '0' "$(jq '.messages|length' <<<"$BODY")"
req POST "$S_URL/chat/clear" '{"session_id":"nope"}'
expect_eq "/chat/clear unknown: 404 detail" '404 true' "$CODE $(jq -c 'has("detail")' <<<"$BODY")"
req GET "$S_URL/sessions"
expect_eq "/sessions: sessions and count" 'true' "$(jq '(.sessions|length) == .count and .count > 0 and (.sessions[0]|has("session_id"))' <<<"$BODY")"

# --- malformed requests -----------------------------------------------------
# status, param (or -), method, path, body
head -c $((40 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T_DIR/big"
python3 -c 'print("["*100000 + "]"*100000)' >"$T_DIR/deep" 2>/dev/null || printf '%*s' 100000 '' | tr ' ' '[' >"$T_DIR/deep"
printf '{"model":"llama3.2","messages":[{"role":"user","content":"\xff\xfe"}]}' >"$T_DIR/badutf8"
while IFS='|' read -r want param method path body; do
	[ -z "$want" ] && continue
	case "$body" in
	@*) CODE=$(curl -s -o "$T_DIR/body" -w '%{http_code}' -X "$method" --data-binary "$body" "$S_URL$path") ;;
	*) CODE=$(curl -s -o "$T_DIR/body" -w '%{http_code}' -X "$method" ${body:+--data-binary "$body"} "$S_URL$path") ;;
	esac
	got="$CODE"
	if [ "$param" != "-" ]; then got="$got $(jq -r '.error.param // "null"' "$T_DIR/body" 2>/dev/null)"; want="$want $param"; fi
	expect_eq "malformed: $method $path ${body:0:40}" "$want" "$got"
	jq -e 'has("error") or has("detail")' "$T_DIR/body" >/dev/null 2>&1 || not_ok "malformed: $method $path answers with an error object" "$(head -c 200 "$T_DIR/body")"
done <<EOF
400|-|POST|/v1/chat/completions|{"model":"llama3.2","messages":[
400|-|POST|/v1/chat/completions|
400|-|POST|/v1/chat/completions|[1,2]
400|model|POST|/v1/chat/completions|{"model":5,"messages":[{"role":"user","content":"x"}]}
400|model|POST|/v1/chat/completions|{"messages":[{"role":"user","content":"x"}]}
400|messages|POST|/v1/chat/completions|{"model":"llama3.2","messages":"hi"}
400|messages|POST|/v1/chat/completions|{"model":"llama3.2","messages":[]}
400|messages[0].role|POST|/v1/chat/completions|{"model":"llama3.2","messages":[{"role":"wizard","content":"x"}]}
400|messages[0].content|POST|/v1/chat/completions|{"model":"llama3.2","messages":[{"role":"user","content":7}]}
400|stream|POST|/v1/chat/completions|{"model":"llama3.2","stream":"yes","messages":[{"role":"user","content":"x"}]}
400|temperature|POST|/v1/chat/completions|{"model":"llama3.2","temperature":"hot","messages":[{"role":"user","content":"x"}]}
400|temperature|POST|/v1/chat/completions|{"model":"llama3.2","temperature":9,"messages":[{"role":"user","content":"x"}]}
400|max_tokens|POST|/v1/chat/completions|{"model":"llama3.2","max_tokens":-1,"messages":[{"role":"user","content":"x"}]}
400|n|POST|/v1/chat/completions|{"model":"llama3.2","n":2,"messages":[{"role":"user","content":"x"}]}
400|tools[0].type|POST|/v1/chat/completions|{"model":"llama3.2","tools":[{"type":"x"}],"messages":[{"role":"user","content":"x"}]}
400|messages[0].content[0].image_url.url|POST|/v1/chat/completions|{"model":"llama3.2","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}
400|-|POST|/v1/chat/completions|@$T_DIR/badutf8
413|-|POST|/v1/chat/completions|@$T_DIR/big
400|-|POST|/v1/chat/completions|@$T_DIR/deep
405|-|GET|/v1/chat/completions|
405|-|DELETE|/v1/models|
405|-|PUT|/chat|{"message":"x"}
404|-|GET|/v2/nothing|
404|-|POST|/v1/completions|{}
400|-|POST|/chat|{"message":5}
400|-|POST|/chat|{"nomessage":1}
400|-|POST|/chat/clear|{}
EOF
req GET "$S_URL/v1/chat/completions"
expect_eq "405 names the allowed method" "POST" "$(hdr allow)"
req POST "$S_URL/v1/chat/completions" '{"model":"llama3.2"' -H 'Transfer-Encoding: chunked'
expect_eq "chunked truncated body: 400" "400" "$CODE"
head -c $((9 * 1024 * 1024)) /dev/zero | tr '\0' 'a' | curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary @- "$S_URL/v1/chat/completions" >"$T_DIR/code"
expect_eq "chunked body over the cap: 413" "413" "$(cat "$T_DIR/code")"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 100000 /dev/zero | tr '\0' 'h')" "$S_URL/health")
check "oversized headers refused ($CODE)" test "$CODE" -ge 400 -a "$CODE" -lt 500
req GET "$S_URL/health"
expect_eq "still healthy after the bad requests" "200" "$CODE"
expect_eq "the store is intact" "ok" "$(sqlite3 "$XDG_DATA_HOME/parley/parley.db" 'PRAGMA integrity_check' 2>&1)"

# --- key and loopback -------------------------------------------------------
before=$(wc -l <"$F_LOG")
"$PARLEY_BIN" --provider ollama --base-url "$F_URL" serve --listen 0.0.0.0:0 >/dev/null 2>"$T_DIR/nokey"
expect_eq "non-loopback without a key: a usage error (exit 2)" "2" "$?"
expect_contains "non-loopback without a key: says why" "$(cat "$T_DIR/nokey")" \
	"refusing to listen on 0.0.0.0 (not a loopback address) without a key"
expect_eq "non-loopback without a key: refused before the backend is asked" "$before" "$(wc -l <"$F_LOG")"
"$PARLEY_BIN" --provider ollama --base-url "$F_URL" serve --listen 127.0.0.1:70000 >/dev/null 2>"$T_DIR/badport"
expect_eq "a port out of range: exit 2" "2" "$?"
expect_contains "a port out of range: says which" "$(cat "$T_DIR/badport")" "bad port in listen address '127.0.0.1:70000'"
"$PARLEY_BIN" --repl --provider ollama --base-url "$F_URL" --listen '[::]:0' </dev/null >/dev/null 2>"$T_DIR/replnokey"
expect_eq "--listen beside the REPL: refused before it starts (exit 2)" "2" "$?"
expect_contains "--listen beside the REPL: says why" "$(cat "$T_DIR/replnokey")" "without a key"
start_serve SK --provider ollama --base-url "$F_URL" --listen 0.0.0.0:0 --serve-key s3cret || exit 1
req GET "$SK_URL/v1/models"
expect_eq "key: missing -> 401 invalid_api_key" '401 "invalid_api_key" "invalid_request_error"' \
	"$CODE $(jq -c '.error.code, .error.type' <<<"$BODY" | tr '\n' ' ' | sed 's/ $//')"
req GET "$SK_URL/v1/models" "" -H 'Authorization: Bearer s3cret-not'
expect_eq "key: wrong -> 401" "401" "$CODE"
req POST "$SK_URL/chat" '{"message":"x"}' -H 'Authorization: Bearer nope'
expect_eq "key: drop-in routes too, with an OpenAI error" '401 "invalid_api_key"' "$CODE $(jq -c .error.code <<<"$BODY")"
req GET "$SK_URL/v1/models" "" -H 'Authorization: Bearer s3cret'
expect_eq "key: right -> 200" "200" "$CODE"
req GET "$SK_URL/health"
expect_eq "key: /health needs none" "200" "$CODE"
PARLEY_SERVE_KEY=envkey start_serve SKE --provider ollama --base-url "$F_URL" --listen 127.0.0.1:0 || exit 1
req GET "$SKE_URL/v1/sessions"
expect_eq "PARLEY_SERVE_KEY is enforced on loopback too" "401" "$CODE"
req GET "$SKE_URL/v1/sessions" "" -H 'Authorization: Bearer envkey'
expect_eq "PARLEY_SERVE_KEY accepted" "200" "$CODE"

# --- CORS ---------------------------------------------------------------------
start_serve SC --provider ollama --base-url "$F_URL" --cors https://ok.example --listen 127.0.0.1:0 || exit 1
req OPTIONS "$SC_URL/v1/chat/completions" "" -H 'Origin: https://ok.example' -H 'Access-Control-Request-Method: POST'
expect_eq "CORS preflight for a named origin" "204 https://ok.example" "$CODE $(hdr access-control-allow-origin)"
expect_contains "preflight allows the headers clients send" "$(hdr access-control-allow-headers)" "Authorization"
req OPTIONS "$SC_URL/v1/chat/completions" "" -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: POST'
expect_eq "CORS preflight for another origin: refused" "403 " "$CODE $(hdr access-control-allow-origin)"
req GET "$SC_URL/v1/models" "" -H 'Origin: https://ok.example'
expect_eq "named origin gets the header" "https://ok.example" "$(hdr access-control-allow-origin)"
req GET "$SC_URL/v1/models" "" -H 'Origin: https://evil.example'
expect_eq "other origins do not" "" "$(hdr access-control-allow-origin)"
req OPTIONS "$S_URL/v1/models" "" -H 'Origin: https://ok.example'
expect_eq "no --cors: no preflight" "403" "$CODE"

# --- a client that goes away; limits ----------------------------------------
start_fake H ollama '{"models":'"$MODELS"',"chat":[{"hang":true},{"tokens":["t"],"repeat":100000,"delay_ms":5}]}' || exit 1
PARLEY_SERVE_MAX_CONNECTIONS=3 PARLEY_SERVE_TIMEOUT=60 start_serve SH --provider ollama --base-url "$H_URL" --listen 127.0.0.1:0 || exit 1
chat_sent() { test "$(grep -c '"/api/chat"' "$H_LOG")" -ge "$1"; }
ended() { test "$(curl -s "$SH_URL/v1/sessions/$1" | jq -r '.messages[-1].state')" = interrupted; }
curl -sN "$SH_URL/v1/chat/completions" -H 'X-Session-Id: gone-1' -d "$(chat_body wait ',"stream":true')" >/dev/null &
cpid=$!
wait_for 10 chat_sent 1
kill $cpid
wait $cpid 2>/dev/null
check "client gone while waiting: the reply ends interrupted" wait_for 10 ended gone-1
curl -sN "$SH_URL/v1/chat/completions" -H 'X-Session-Id: gone-2' -d "$(chat_body stream ',"stream":true')" >"$T_DIR/g2" &
cpid=$!
wait_for 10 grep -q '"content":"t"' "$T_DIR/g2"
kill $cpid
wait $cpid 2>/dev/null
check "client gone mid-stream: the reply ends interrupted" wait_for 10 ended gone-2
grown=$(curl -s "$SH_URL/v1/sessions/gone-2" | jq -r '.messages[-1].content|length')
check "... keeping what arrived" test "$grown" -gt 0

# connection cap: three held open, the fourth turned away with 503
for i in 1 2 3; do
	exec {fd}<>"/dev/tcp/127.0.0.1/${SH_URL##*:}"
	eval "held_$i=$fd"
done
req GET "$SH_URL/v1/sessions"
expect_eq "over the connection cap: 503" '503 "too_many_connections"' "$CODE $(jq -c .error.code <<<"$BODY")"
for i in 1 2 3; do eval "exec {held_$i}>&-"; done
served() { test "$(curl -s -o /dev/null -w '%{http_code}' "$SH_URL/v1/sessions")" = 200; }
check "below the cap again: served" wait_for 10 served

# idle and slow connections: closed after the idle timeout; others unaffected
start_fake SL ollama '{"models":'"$MODELS"',"chat":{"hang":true}}' || exit 1
PARLEY_SERVE_IDLE_TIMEOUT=1 PARLEY_SERVE_TIMEOUT=2 start_serve SI --provider ollama --base-url "$SL_URL" --listen 127.0.0.1:0 || exit 1
exec {slow}<>"/dev/tcp/127.0.0.1/${SI_URL##*:}"
printf 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n' >&$slow
t0=$(date +%s%N)
req GET "$SI_URL/v1/sessions"
t1=$(date +%s%N)
check "a half-sent request does not hold up others ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 900
check "the idle connection is closed by the server" timeout 10 cat <&$slow
exec {slow}>&-
t0=$(date +%s)
req POST "$SI_URL/v1/chat/completions" "$(chat_body x)"
expect_eq "total timeout: 504" '504 "timeout"' "$CODE $(jq -c .error.code <<<"$BODY")"
check "total timeout after about 2 s" test $(($(date +%s) - t0)) -le 6

# --- the connection to the backend -------------------------------------------
# A reply is over at its last event, a few bytes before the body ends: those
# are read too, so the connection to the backend carries the next request.
# (At most 2 connections, not exactly 1: the double writes the end of the
# body after the last event, and nothing here waits for parley to have read
# it before the next request goes out.)
# a body over 1 MiB, where libcurl would ask "Expect: 100-continue" and
# wait for the answer
{
	printf '{"model":"llama3.2","messages":[{"role":"user","content":"'
	head -c 1200000 /dev/zero | tr '\0' x
	printf '"}]}'
} >"$T_DIR/big.json"
for kind in ollama:RO openai:RA; do
	flavor=${kind%:*} n=${kind#*:}
	start_fake "$n" "$flavor" '{"models":'"$MODELS"',"chat":{"echo":true}}' || exit 1
	u=${n}_URL
	start_serve "S$n" --provider "$flavor" --base-url "${!u}" --listen 127.0.0.1:0 || exit 1
	u=S${n}_URL l=${n}_LOG
	codes=
	for i in 1 2 3; do
		req POST "${!u}/v1/chat/completions" "$(chat_body "plain $i")"
		codes+="$CODE "
		req POST "${!u}/v1/chat/completions" "$(chat_body "streamed $i" ',"stream":true')"
		codes+="$CODE "
	done
	req POST "${!u}/chat" '{"message":"drop-in","model":"llama3.2"}'
	codes+="$CODE "
	codes+=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T_DIR/big.json" "${!u}/v1/chat/completions")
	expect_eq "$flavor: 8 exchanges answered" "200 200 200 200 200 200 200 200" "$codes"
	nconn=$(jq -s '[.[]|select(.path|test("chat"))|.conn]|unique|length' "${!l}")
	check "$flavor: the 8 chat requests reach the backend over at most 2 connections (got $nconn)" test "$nconn" -le 2
	expect_eq "$flavor: no Expect: 100-continue, even for a 1.2 MB body" '[null]' "$(jq -sc '[.[].expect]|unique' "${!l}")"
done
# a backend that leaves the body open after the last event
start_fake RH openai '{"models":'"$MODELS"',"chat":[{"tokens":["a","b"],"hang_at_end":true},{"tokens":["c"]}]}' || exit 1
start_serve SRH --provider openai --base-url "$RH_URL" --listen 127.0.0.1:0 || exit 1
req POST "$SRH_URL/v1/chat/completions" "$(chat_body open)" -m 30
expect_eq "body left open after the last event: the reply is whole" '200 "ab"' "$CODE $(jq -c '.choices[0].message.content' <<<"$BODY")"
req GET "$SRH_URL/v1/sessions/$(hdr x-session-id)"
expect_eq "... and stored complete" '"complete"' "$(jq -c '.messages[-1].state' <<<"$BODY")"
req POST "$SRH_URL/v1/chat/completions" "$(chat_body next)" -m 30
expect_eq "... and the next request is answered" '200 "c"' "$CODE $(jq -c '.choices[0].message.content' <<<"$BODY")"

# --- 32 concurrent streams -------------------------------------------------
start_fake C ollama '{"models":'"$MODELS"',"chat":{"tokens":["a","b","c","d","e","f","g","h"],"repeat":2,"delay_ms":5}}' || exit 1
start_serve SCC --provider ollama --base-url "$C_URL" --listen 127.0.0.1:0 || exit 1
pids=()
for i in $(seq 1 32); do
	curl -sN "$SCC_URL/v1/chat/completions" -d "$(chat_body "client $i" ',"stream":true,"stream_options":{"include_usage":true}')" >"$T_DIR/c$i" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
good=0
want=abcdefghabcdefgh
for i in $(seq 1 32); do
	if [ "$(sse_content <"$T_DIR/c$i")" = "$want" ] && [ "$(grep -v '^$' "$T_DIR/c$i" | tail -1)" = "data: [DONE]" ] &&
		[ "$(grep -c '"finish_reason":"stop"' "$T_DIR/c$i")" = 1 ] && [ "$(grep -c '"choices":\[\]' "$T_DIR/c$i")" = 1 ]; then
		good=$((good + 1))
	fi
done
expect_eq "32 concurrent streams, each complete and correct" 32 "$good"
expect_eq "32 sessions, one per client" 32 "$(curl -s "$SCC_URL/v1/sessions?limit=100" | jq '[.data[]|select(.title|startswith("client "))]|length')"

# --- shutdown: every listener exits cleanly, the sanitizers silent ----------
clean=0
for n in S ST SE SD SK SKE SC SH SI SRO SRA SRH SCC; do
	pid_var="${n}_PID" err_var="${n}_ERR"
	kill -TERM "${!pid_var}"
	wait "${!pid_var}"
	rc=$?
	if [ "$rc" -eq 0 ] && ! grep -q -e 'AddressSanitizer' -e 'LeakSanitizer' -e 'runtime error' "${!err_var}"; then
		clean=$((clean + 1))
	else
		echo "# serve $n: status $rc"
		grep -m5 -e 'Sanitizer' -e 'runtime error' -e '#[0-9] ' "${!err_var}" | sed 's/^/# /'
	fi
done
expect_eq "SIGTERM: all 13 listeners exit 0 without sanitizer reports" 13 "$clean"

done_testing
