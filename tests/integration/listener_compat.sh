#!/bin/bash
# What OpenAI clients send beyond messages, through parley serve to each
# kind of backend: tool_choice (passed on, or mapped for Ollama, or refused
# where it cannot be honoured), response_format json_schema unchanged, the
# model name checked against llama-server's own list, the info route, and
# the 404 an SDK gets for an OpenAI API parley does not serve.
. "$TESTS_DIR/lib.sh"

TOOLS='[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},{"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}}]'
SCHEMA='{"type":"json_schema","json_schema":{"name":"Weather_Report","strict":true,"description":"a report","schema":{"type":"object","properties":{"t":{"type":"number"}},"required":["t"],"additionalProperties":false}}}'
body() { printf '{"model":"%s","messages":[{"role":"user","content":"hi"}]%s}' "$1" "${2:-}"; }
post() { CODE=$(curl -s -m 20 -o "$T_DIR/body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$2" "$1/v1/chat/completions"); }
# the last chat request a double received, through a jq filter
sent() { last_chat "$1" | jq -c "$2"; }

# --- an OpenAI-compatible backend: passed on as the client sent them --------
start_fake L llamaserver '{"models":[{"name":"qwen"}],"accept_any_model":true}' || exit 1
start_serve S --auth openai --base-url "$L_URL" --listen 127.0.0.1:0 || exit 1

post "$S_URL" "$(body qwen ',"tools":'"$TOOLS"',"tool_choice":"required"')"
expect_eq "tool_choice required reaches llama-server" '200 "required" 2' "$CODE $(sent "$L_LOG" '.body.tool_choice, (.body.tools|length)' | tr '\n' ' ' | sed 's/ $//')"
post "$S_URL" "$(body qwen ',"tools":'"$TOOLS"',"tool_choice":{"type":"function","function":{"name":"get_time"}}')"
expect_eq "a named function reaches it unchanged" '200 {"type":"function","function":{"name":"get_time"}}' "$CODE $(sent "$L_LOG" .body.tool_choice)"
post "$S_URL" "$(body qwen ',"tools":'"$TOOLS"',"tool_choice":"none"')"
expect_eq "and none" '200 "none"' "$CODE $(sent "$L_LOG" .body.tool_choice)"
post "$S_URL" "$(body qwen ',"response_format":'"$SCHEMA")"
expect_eq "response_format json_schema reaches it unchanged: name, strict, description" "200 $(jq -c . <<<"$SCHEMA")" "$CODE $(sent "$L_LOG" .body.response_format)"

# malformed tool_choice: a 400 naming the field, nothing sent
n=$(wc -l <"$L_LOG")
for tc in '"always"' '{"type":"function","function":{"name":"nope"}}' '{"type":"function"}' '7'; do
	post "$S_URL" "$(body qwen ',"tools":'"$TOOLS"',"tool_choice":'"$tc")"
	expect_eq "tool_choice $tc: 400 on tool_choice" '400 "invalid_request_error"' "$CODE $(jq -c .error.type "$T_DIR/body")"
	expect_contains "tool_choice $tc: says what is wrong" "$(jq -r .error.param,.error.message "$T_DIR/body" | tr '\n' ' ')" "tool_choice"
done
post "$S_URL" "$(body qwen ',"tool_choice":"required"')"
expect_contains "tool_choice required without tools: 400" "$CODE $(jq -r .error.message "$T_DIR/body")" '400 tool_choice: "required" needs tools'
expect_eq "no malformed request reached the backend" "$n" "$(wc -l <"$L_LOG")"

# --- the model name against llama-server's list -----------------------------
post "$S_URL" "$(body qwen)"
expect_eq "a model the backend lists: 200" "200" "$CODE"
: >"$L_LOG"
post "$S_URL" "$(body gpt-4o)"
expect_eq "a model it does not list: 404 model_not_found, though llama-server would answer" \
	'404 "model_not_found" "model"' "$CODE $(jq -c '.error.code, .error.param' "$T_DIR/body" | tr '\n' ' ' | sed 's/ $//')"
expect_contains "naming the model" "$(jq -r .error.message "$T_DIR/body")" '`gpt-4o` does not exist'
# a cached list is asked for again before a miss is final; a fresh one not
expect_eq "the miss asked the backend's list once, and sent no chat" \
	"1 0" "$(jq -r .path "$L_LOG" | grep -c '^/v1/models$') $(jq -r .path "$L_LOG" | grep -c '^/v1/chat/completions$')"
post "$S_URL" "$(body qwen ',"stream":true')"
expect_eq "the known model again, streamed" "200" "$CODE"

# --- Ollama: no tool_choice on its wire, mapped ------------------------------
start_fake O ollama '{"models":[{"name":"llama3.2:latest"}]}' || exit 1
start_serve SO --provider ollama --base-url "$O_URL" --listen 127.0.0.1:0 || exit 1
post "$SO_URL" "$(body llama3.2 ',"tools":'"$TOOLS"',"tool_choice":"none"')"
expect_eq "Ollama, none: no tools offered" '200 false null' "$CODE $(sent "$O_LOG" '(.body|has("tools")), .body.tool_choice' | tr '\n' ' ' | sed 's/ $//')"
post "$SO_URL" "$(body llama3.2 ',"tools":'"$TOOLS"',"tool_choice":{"type":"function","function":{"name":"get_time"}}')"
expect_eq "Ollama, a named function: only that tool offered" '200 ["get_time"]' "$CODE $(sent "$O_LOG" '[.body.tools[].function.name]')"
post "$SO_URL" "$(body llama3.2 ',"tools":'"$TOOLS"',"tool_choice":"auto"')"
expect_eq "Ollama, auto: all tools" '200 ["get_weather","get_time"]' "$CODE $(sent "$O_LOG" '[.body.tools[].function.name]')"
n=$(wc -l <"$O_LOG")
post "$SO_URL" "$(body llama3.2 ',"tools":'"$TOOLS"',"tool_choice":"required"')"
expect_eq "Ollama, required: refused, it cannot force a call" '400 "tool_choice"' "$CODE $(jq -c .error.param "$T_DIR/body")"
expect_contains "saying what to send instead" "$(jq -r .error.message "$T_DIR/body")" 'send "auto" or name one function'
expect_eq "and nothing was sent" "$n" "$(wc -l <"$O_LOG")"
post "$SO_URL" "$(body llama3.2 ',"response_format":'"$SCHEMA")"
expect_eq "Ollama, json_schema: the schema is the format" "200 $(jq -c .json_schema.schema <<<"$SCHEMA")" "$CODE $(sent "$O_LOG" .body.format)"

# --- the info route and routes parley does not serve ------------------------
info=$(curl -s -w ' %{http_code}' "$S_URL/")
expect_eq "GET / says what serves here" "{\"service\":\"parley\",\"version\":\"$("$PARLEY_BIN" --version | awk '{print $2}')\",\"docs\":\"/openapi.json\",\"health\":\"/health\"} 200" \
	"$(jq -c . <<<"${info% *}") ${info##* }"
start_serve SK --auth openai --base-url "$L_URL" --listen 127.0.0.1:0 --serve-key k3y || exit 1
expect_eq "GET / needs no key" "200" "$(curl -s -o /dev/null -w '%{http_code}' "$SK_URL/")"
CODE=$(curl -s -o "$T_DIR/body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary '{"model":"qwen","input":"hi"}' "$S_URL/v1/responses")
expect_eq "POST /v1/responses: an OpenAI-style 404" '404 "unknown_url" "invalid_request_error"' "$CODE $(jq -c '.error.code, .error.type' "$T_DIR/body" | tr '\n' ' ' | sed 's/ $//')"
expect_contains "saying parley serves Chat Completions" "$(jq -r .error.message "$T_DIR/body")" "Chat Completions API at POST /v1/chat/completions"
expect_contains "and that the Responses API is not" "$(jq -r .error.message "$T_DIR/body")" "Responses API is not supported"
CODE=$(curl -s -o "$T_DIR/body" -w '%{http_code}' "$S_URL/v1/embeddings")
expect_contains "another /v1 API: the same pointer" "$CODE $(jq -r .error.message "$T_DIR/body")" "404 Invalid URL (GET /v1/embeddings): parley serves the Chat Completions API"
check "no sanitizer report" test -z "$(grep -E 'Sanitizer|runtime error' "$S_ERR" "$SO_ERR" "$SK_ERR")"
done_testing
