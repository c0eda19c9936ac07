#!/bin/bash
# A backend that refuses tools on a streamed request (older llama-server
# builds answer 500 "Cannot use tools with stream"): the same request goes
# again unstreamed, the client gets its answer (streamed or not, as it
# asked), and later tool requests to that backend go unstreamed at once.
. "$TESTS_DIR/lib.sh"

TOOLS='[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]'
body() { printf '{"model":"qwen","stream":%s,"messages":[{"role":"user","content":"weather in Oslo?"}]%s}' "$1" "${2:-}"; }
post() { curl -s -m 20 -o "$T_DIR/body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$2" "$1/v1/chat/completions"; }
chats() { jq -c 'select(.path == "/v1/chat/completions") | [.body.stream, (.body | has("stream_options")), (.body.tools | length)]' "$1" | tr '\n' ' ' | sed 's/ $//'; }

start_fake L llamaserver '{"models":[{"name":"qwen"}],"no_stream_tools":true,"chat":[{"tokens":[],"tool_calls":[{"id":"call_1","name":"get_weather","arguments":{"city":"Oslo"}}]},{"tokens":[],"tool_calls":[{"id":"call_2","name":"get_weather","arguments":{"city":"Bergen"}}]},{"tokens":["plain ","text"]}]}' || exit 1
start_serve S --auth openai --base-url "$L_URL" --listen 127.0.0.1:0 || exit 1

code=$(post "$S_URL" "$(body false ',"tools":'"$TOOLS")")
expect_eq "a tool request the backend refused to stream is answered" "200 tool_calls" "$code $(jq -r '.choices[0].finish_reason' "$T_DIR/body")"
expect_eq "with the model's tool call" '"get_weather" {"city":"Oslo"}' \
	"$(jq -c '.choices[0].message.tool_calls[0].function.name' "$T_DIR/body") $(jq -r '.choices[0].message.tool_calls[0].function.arguments' "$T_DIR/body" | jq -c .)"
expect_eq "parley asked streamed, then again unstreamed" "[true,true,1] [false,false,1]" "$(chats "$L_LOG")"

: >"$L_LOG"
code=$(post "$S_URL" "$(body true ',"tools":'"$TOOLS")")
expect_eq "a streamed client's tool request is answered as a stream" "200" "$code"
check "its stream carries the tool call" grep -q '"Bergen' "$T_DIR/body"
check "and ends with [DONE]" grep -q '^data: \[DONE\]' "$T_DIR/body"
expect_eq "the backend's refusal is remembered: one unstreamed request" "[false,false,1]" "$(chats "$L_LOG")"

: >"$L_LOG"
code=$(post "$S_URL" "$(body true)")
expect_eq "a request without tools" "200" "$code"
expect_eq "still streams from the backend" "[true,true,0]" "$(chats "$L_LOG")"

# any other 500 is the backend's error, passed on, not retried
start_fake E llamaserver '{"models":[{"name":"qwen"}],"chat":{"status":500,"error":"out of memory"}}' || exit 1
start_serve SE --auth openai --base-url "$E_URL" --listen 127.0.0.1:0 || exit 1
code=$(post "$SE_URL" "$(body false ',"tools":'"$TOOLS")")
expect_eq "another 500 is a backend error" "502" "$code"
expect_contains "naming what the backend said" "$(jq -r .error.message "$T_DIR/body")" "out of memory"
expect_eq "and is not retried" "[true,true,1]" "$(chats "$E_LOG")"
check "no sanitizer report" test -z "$(grep -E 'Sanitizer|runtime error' "$S_ERR" "$SE_ERR")"
done_testing
