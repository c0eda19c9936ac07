#!/bin/bash
# The listener's Ollama-native routes (/api/version, tags, ps, show, chat,
# generate, embed, embeddings, pull): the wire shapes with curl (NDJSON
# streams, {"error"} bodies and Ollama's statuses, loads, auth), the
# exchanges landing in the shared store and continuing their session, an
# LM Studio backend and a router of two backends behind the same routes,
# then the official ollama npm client (pinned in tests/node/package.json)
# through tests/node/ollama.mjs.
. "$TESTS_DIR/lib.sh"

export PARLEY_DB="$T_DIR/o.db" PARLEY_NO_DISCOVER=1
NODE_DIR="$TESTS_DIR/node"
MODELS='[{"name":"llama3.2:latest","capabilities":["completion","tools"],"loaded":true,"context_length":131072},{"name":"nomic-embed-text:latest","family":"nomic-bert","capabilities":["embedding"],"loaded":false}]'

# req METHOD URL [curl args]: sets CODE, BODY, HDRS
req() {
	local method=$1 url=$2 b="$T_DIR/body" h="$T_DIR/hdrs"
	shift 2
	CODE=$(curl -s -X "$method" -o "$b" -D "$h" -w '%{http_code}' "$@" "$url")
	BODY=$(cat "$b")
	HDRS=$(tr -d '\r' <"$h")
}
hdr() { printf '%s\n' "$HDRS" | grep -i "^$1:" | head -1 | sed 's/^[^:]*: //'; }
backend_reqs() { wc -l <"$1"; }
# every line of BODY a JSON object: the count of lines, or "bad"
ndjson_lines() { jq -e -c 'type == "object"' <<<"$BODY" >/dev/null 2>&1 && grep -c . <<<"$BODY" || echo bad; }

start_fake F ollama '{"models":'"$MODELS"',"chat":{"echo":true}}' || exit 1
start_fake T ollama '{"models":'"$MODELS"',"chat":{"tokens":[],"tool_calls":[{"id":"call_k3x9a0qe","name":"get_weather","arguments":{"city":"Tokyo"}}]}}' || exit 1
start_fake E ollama '{"models":'"$MODELS"',"chat":{"tokens":["one ","two ","three"],"error_after":2,"error":"CUDA error: out of memory"}}' || exit 1
start_fake L lmstudio '{"models":[{"name":"qwen3-8b"},{"name":"text-embedding-nomic"}],"chat":{"echo":true}}' || exit 1
start_serve S --provider ollama --base-url "$F_URL" --listen 127.0.0.1:0 || exit 1
start_serve ST --provider ollama --base-url "$T_URL" --listen 127.0.0.1:0 || exit 1
start_serve SE --provider ollama --base-url "$E_URL" --listen 127.0.0.1:0 || exit 1
start_serve SL --provider lmstudio --base-url "$L_URL" --listen 127.0.0.1:0 || exit 1

# --- version, tags, ps, show ------------------------------------------------
before=$(backend_reqs "$F_LOG")
req GET "$S_URL/api/version"
expect_eq "version: 200 with Ollama's API level and parley's own" "200 true true" \
	"$CODE $(jq '.version | test("^[0-9]+\\.[0-9]+\\.[0-9]+$")' <<<"$BODY") $(jq '.parley | type == "string"' <<<"$BODY")"
expect_eq "version does not ask the backend" "$before" "$(backend_reqs "$F_LOG")"
req GET "$S_URL/api/tags"
expect_eq "tags: 200 JSON" "200 application/json; charset=utf-8" "$CODE $(hdr content-type)"
expect_eq "tags: the backend's models in Ollama's shape" '["llama3.2:latest","nomic-embed-text:latest"] ["nomic-bert"] true' \
	"$(jq -c '[.models[].name]' <<<"$BODY") $(jq -c '.models[1].details.families' <<<"$BODY") $(jq '[.models[] | (.digest | test("^[0-9a-f]{64}$")) and .model == .name and (.size > 0)] | all' <<<"$BODY")"
req GET "$S_URL/api/ps"
expect_eq "ps: the loaded model, with expiry and VRAM" '200 ["llama3.2:latest"] true' \
	"$CODE $(jq -c '[.models[].name]' <<<"$BODY") $(jq '.models[0] | (.expires_at | type == "string") and .size_vram > 0' <<<"$BODY")"
req POST "$S_URL/api/show" -d '{"model":"llama3.2"}'
expect_eq "show: an Ollama backend's answer whole" '200 "llama" 131072' \
	"$CODE $(jq -c '.details.family, .model_info["llama.context_length"]' <<<"$BODY" | tr '\n' ' ' | sed 's/ $//')"
req POST "$S_URL/api/show" -d '{"name":"llama3.2"}'
expect_eq "show: the older name key" "200" "$CODE"
req POST "$S_URL/api/show" -d '{"model":"nope"}'
expect_eq "show: an unknown model is 404 {error}" '404 "model '"'"'nope'"'"' not found"' "$CODE $(jq -c .error <<<"$BODY")"
req POST "$S_URL/api/show" -d '{}'
expect_eq "show: no model is 400" '400 "model is required"' "$CODE $(jq -c .error <<<"$BODY")"

# --- chat --------------------------------------------------------------------
req POST "$S_URL/api/chat" -d '{"model":"llama3.2","messages":[{"role":"user","content":"hello there"}]}'
expect_eq "chat streams by default: 200 NDJSON" "200 application/x-ndjson" "$CODE $(hdr content-type)"
expect_eq "chat: every line one compact JSON object" "4" "$(ndjson_lines)"
expect_eq "chat: the pieces add up to the reply" "echo: hello there" \
	"$(jq -rj '.message.content' <<<"$BODY")"
expect_eq "chat: only the last line is done, with its reason and counts" 'false,false,false,true "stop" true' \
	"$(jq -r '.done' <<<"$BODY" | paste -sd,) $(tail -1 <<<"$BODY" | jq -c .done_reason) $(tail -1 <<<"$BODY" | jq '.eval_count > 0 and .prompt_eval_count > 0 and .total_duration > 0')"
expect_eq "chat: model and created_at on every line" "true" \
	"$(jq -s 'map(.model == "llama3.2" and (.created_at | test("^[0-9-]+T[0-9:.]+Z$"))) | all' <<<"$BODY")"
SID=$(hdr x-session-id)
check "chat: the session it landed in is named" test -n "$SID"
run_parley sessions show "$SID"
expect_contains "the exchange is in the shared store" "$OUT" "echo: hello there"
run_parley sessions list --json
expect_eq "its origin is the listener" '"api"' "$(jq -c --arg s "$SID" '.[] | select(.id == $s) | .origin' <<<"$OUT")"

req POST "$S_URL/api/chat" -d '{"model":"llama3.2","stream":false,"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"echo: hello there"},{"role":"user","content":"and again"}]}'
expect_eq "chat, stream false: one JSON answer" '200 application/json; charset=utf-8 "echo: and again" true "stop"' \
	"$CODE $(hdr content-type) $(jq -c '.message.content, .done, .done_reason' <<<"$BODY" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "resent history continues the same session" "$SID" "$(hdr x-session-id)"
run_parley sessions list --json
expect_eq "that session now holds four messages" "4" "$(jq --arg s "$SID" '.[] | select(.id == $s) | .messages' <<<"$OUT")"

req POST "$S_URL/api/chat" -d '{"model":"llama3.2","messages":[]}'
expect_eq "chat with no messages loads the model" '200 true "load"' "$CODE $(tail -1 <<<"$BODY" | jq -c '.done, .done_reason' | paste -sd' ')"
req POST "$S_URL/api/chat" -d '{"model":"llama3.2","messages":[],"keep_alive":0,"stream":false}'
expect_eq "keep_alive 0 with no messages unloads it" '200 "unload"' "$CODE $(jq -c .done_reason <<<"$BODY")"
req POST "$S_URL/api/chat" -d '{"model":"nope","messages":[]}'
expect_eq "loading an unknown model is 404" '404 "model \"nope\" not found, try pulling it first"' "$CODE $(jq -c .error <<<"$BODY")"
req POST "$S_URL/api/chat" -d '{"model":"nope","messages":[{"role":"user","content":"x"}]}'
expect_eq "chat with an unknown model: 404 in Ollama's words, before any line" \
	'404 application/json; charset=utf-8 "model \"nope\" not found, try pulling it first"' \
	"$CODE $(hdr content-type) $(jq -c .error <<<"$BODY")"

# bad requests: 400 {"error"} naming what is wrong, nothing sent on
before=$(backend_reqs "$F_LOG")
req POST "$S_URL/api/chat"
expect_eq "no body" '400 "missing request body"' "$CODE $(jq -c .error <<<"$BODY")"
req POST "$S_URL/api/chat" -d '{"model":'
expect_eq "broken JSON: 400 {error}" '400 true' "$CODE $(jq '.error | type == "string"' <<<"$BODY")"
req POST "$S_URL/api/chat" -d '{"model":"llama3.2","messages":[{"role":"robot","content":"x"}]}'
expect_contains "a bad role is named" "$CODE $(jq -r .error <<<"$BODY")" "400 messages[0].role"
req POST "$S_URL/api/chat" -d '{"model":"llama3.2","messages":[{"role":"user","content":"x"}],"stream":"yes"}'
expect_contains "a bad stream flag is named" "$CODE $(jq -r .error <<<"$BODY")" "400 stream"
req POST "$S_URL/api/chat" -d '{"messages":[{"role":"user","content":"x"}]}'
expect_eq "no model" '400 "model is required"' "$CODE $(jq -c .error <<<"$BODY")"
expect_eq "none of them reached the backend" "$before" "$(backend_reqs "$F_LOG")"
req POST "$S_URL/api/nothing" -d '{}'
expect_eq "an unknown /api/ route: 404 {error}" '404 true' "$CODE $(jq '.error | type == "string"' <<<"$BODY")"

# options reach the backend under Ollama's names
req POST "$S_URL/api/chat" -d '{"model":"llama3.2","stream":false,"messages":[{"role":"user","content":"opts"}],"options":{"temperature":0.2,"num_ctx":8192,"num_predict":64,"seed":7},"format":"json","think":false,"keep_alive":"10m"}'
expect_eq "options pass through" '{"temperature":0.2,"num_ctx":8192,"num_predict":64,"seed":7} "json" false "10m"' \
	"$(last_chat "$F_LOG" | jq -c '.body | (.options | {temperature, num_ctx, num_predict, seed}), .format, .think, .keep_alive' | paste -sd' ')"

# --- generate ----------------------------------------------------------------
req POST "$S_URL/api/generate" -d '{"model":"llama3.2","prompt":"why is the sky blue","system":"be brief"}'
expect_eq "generate streams response pieces" "200 application/x-ndjson echo: why is the sky blue" \
	"$CODE $(hdr content-type) $(jq -rj '.response' <<<"$BODY")"
expect_eq "generate: system and prompt go as two messages" '["system","user"] "be brief"' \
	"$(last_chat "$F_LOG" | jq -c '[.body.messages[].role], .body.messages[0].content' | paste -sd' ')"
req POST "$S_URL/api/generate" -d '{"model":"llama3.2","prompt":"whole","stream":false}'
expect_eq "generate, stream false" '200 "echo: whole" true' "$CODE $(jq -c '.response, .done' <<<"$BODY" | paste -sd' ')"
req POST "$S_URL/api/generate" -d '{"model":"llama3.2"}'
expect_eq "generate with no prompt loads the model" '200 "load"' "$CODE $(tail -1 <<<"$BODY" | jq -c .done_reason)"
req POST "$S_URL/api/generate" -d '{"model":"llama3.2","prompt":7}'
expect_contains "generate: a prompt that is not a string is named" "$CODE $(jq -r .error <<<"$BODY")" "400 prompt"

# --- tool calls ----------------------------------------------------------------
TOOLS='[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]'
req POST "$ST_URL/api/chat" -d '{"model":"llama3.2","messages":[{"role":"user","content":"weather?"}],"tools":'"$TOOLS"'}'
expect_eq "a streamed tool call comes whole on one line, arguments an object" '"get_weather" {"city":"Tokyo"}' \
	"$(jq -c 'select(.message.tool_calls) | .message.tool_calls[0].function | .name, .arguments' <<<"$BODY" | paste -sd' ')"
expect_eq "the tools reached the backend" '"get_weather"' "$(last_chat "$T_LOG" | jq -c '.body.tools[0].function.name')"

# --- an error mid-stream -------------------------------------------------------
req POST "$SE_URL/api/chat" -d '{"model":"llama3.2","messages":[{"role":"user","content":"x"}]}'
expect_eq "an error mid-stream: 200, the tokens, then a last {error} line" '200 one two  "CUDA error: out of memory"' \
	"$CODE $(jq -rj '.message.content // empty' <<<"$BODY") $(tail -1 <<<"$BODY" | jq -c .error)"
run_parley sessions show "$(hdr x-session-id)"
expect_contains "what came before the error is kept" "$OUT" "one two"

# --- embed -------------------------------------------------------------------
req POST "$S_URL/api/embed" -d '{"model":"nomic-embed-text","input":["a","bbb"]}'
expect_eq "embed: a vector per input, in order" '200 "nomic-embed-text" [1,3] true' \
	"$CODE $(jq -c '.model, [.embeddings[][0]]' <<<"$BODY" | paste -sd' ') $(jq '.total_duration > 0' <<<"$BODY")"
expect_eq "embed went to the backend's /api/embed" '["a","bbb"]' "$(grep '"/api/embed"' "$F_LOG" | tail -1 | jq -c .body.input)"
req POST "$S_URL/api/embed" -d '{"model":"nomic-embed-text","input":"solo","dimensions":3}'
expect_eq "embed: one string, dimensions passed" '200 [[4,3]]' "$CODE $(jq -c '[.embeddings[] | [.[0], length]]' <<<"$BODY")"
req POST "$S_URL/api/embed" -d '{"model":"nomic-embed-text","input":[1,2]}'
expect_eq "embed: input that is not text" '400 "input: must be a string or an array of strings"' "$CODE $(jq -c .error <<<"$BODY")"
req POST "$S_URL/api/embed" -d '{"model":"nope","input":"x"}'
expect_eq "embed: an unknown model is 404" '404 true' "$CODE $(jq '.error | contains("nope")' <<<"$BODY")"
req POST "$S_URL/api/embeddings" -d '{"model":"nomic-embed-text","prompt":"hello"}'
expect_eq "embeddings (older): one vector" '200 5 4' "$CODE $(jq -c '.embedding[0], (.embedding | length)' <<<"$BODY" | paste -sd' ')"

# --- pull ----------------------------------------------------------------------
req POST "$S_URL/api/pull" -d '{"model":"tinyllama"}'
expect_eq "pull streams the backend's progress" '200 application/x-ndjson "pulling manifest" "success"' \
	"$CODE $(hdr content-type) $(head -1 <<<"$BODY" | jq -c .status) $(tail -1 <<<"$BODY" | jq -c .status)"
expect_eq "pull: digests, totals and completed bytes pass through" "true" \
	"$(jq -s 'map(select(.digest)) | length > 6 and (map(select(.completed == .total and .total > 0)) | length > 0) and all(.digest | startswith("sha256:"))' <<<"$BODY")"
req GET "$S_URL/api/tags"
expect_contains "the pulled model is listed at once" "$(jq -c '[.models[].name]' <<<"$BODY")" '"tinyllama:latest"'
req POST "$S_URL/api/pull" -d '{"name":"phi3","stream":false}'
expect_eq "pull, stream false, with the older name key" '200 {"status":"success"}' "$CODE $BODY"

# --- an LM Studio backend behind the same routes --------------------------------
req GET "$SL_URL/api/tags"
expect_eq "LM Studio's models as tags" '200 ["qwen3-8b","text-embedding-nomic"]' "$CODE $(jq -c '[.models[].name]' <<<"$BODY")"
req POST "$SL_URL/api/chat" -d '{"model":"qwen3-8b","stream":false,"messages":[{"role":"user","content":"hi"}]}'
expect_eq "chat through LM Studio" '200 "echo: hi"' "$CODE $(jq -c .message.content <<<"$BODY")"
req POST "$SL_URL/api/embed" -d '{"model":"text-embedding-nomic","input":["xy","z"]}'
expect_eq "embed through /v1/embeddings, put back in input order" '200 [2,1]' "$CODE $(jq -c '[.embeddings[][0]]' <<<"$BODY")"
req POST "$SL_URL/api/pull" -d '{"model":"tinyllama"}'
expect_eq "pull through LM Studio: 501 saying why" '501 true' "$CODE $(jq '.error | contains("LM Studio")' <<<"$BODY")"

# --- two backends behind one endpoint ----------------------------------------------
cat >"$T_DIR/multi.ini" <<INI
[backend gpu]
provider = ollama
base-url = $F_URL

[backend laptop]
provider = lmstudio
base-url = $L_URL
INI
PARLEY_CONFIG="$T_DIR/multi.ini" start_serve SM --listen 127.0.0.1:0 || exit 1
req GET "$SM_URL/api/tags"
expect_eq "router: tags lists both backends' models" '["llama3.2:latest","nomic-embed-text:latest","phi3:latest","qwen3-8b","text-embedding-nomic","tinyllama:latest"]' \
	"$(jq -c '[.models[].name] | sort' <<<"$BODY")"
req POST "$SM_URL/api/chat" -d '{"model":"qwen3-8b","stream":false,"messages":[{"role":"user","content":"routed"}]}'
expect_eq "router: a chat goes to the backend with the model" '200 "echo: routed"' "$CODE $(jq -c .message.content <<<"$BODY")"
expect_eq "the laptop got it" '"routed"' "$(last_chat "$L_LOG" | jq -c '.body.messages[-1].content')"
req POST "$SM_URL/api/embed" -d '{"model":"nomic-embed-text","input":"gpu"}'
expect_eq "router: embed goes to the backend with the model" '200 [3]' "$CODE $(jq -c '[.embeddings[][0]]' <<<"$BODY")"
req POST "$SM_URL/api/embed" -d '{"model":"text-embedding-nomic@laptop","input":"lap"}'
expect_eq "router: model@backend for embed" '200 [3]' "$CODE $(jq -c '[.embeddings[][0]]' <<<"$BODY")"

# --- authentication ----------------------------------------------------------------
start_serve SK --provider ollama --base-url "$F_URL" --listen 127.0.0.1:0 --serve-key sesame || exit 1
req GET "$SK_URL/api/tags"
expect_eq "with a key: 401 in Ollama's shape" '401 true' "$CODE $(jq '.error | type == "string"' <<<"$BODY")"
req GET "$SK_URL/api/tags" -H 'Authorization: Bearer sesame'
expect_eq "with a key: the key lets it in" "200" "$CODE"

# --- the official ollama npm client ---------------------------------------------------
if ! command -v node >/dev/null; then
	not_ok "node is installed" "install it (make deps) to run the client test"
	done_testing
	exit 1
fi
if [ ! -f "$NODE_DIR/node_modules/ollama/package.json" ]; then
	if ! (cd "$NODE_DIR" && npm ci --no-audit --no-fund >"$T_DIR/npm.log" 2>&1); then
		not_ok "npm ci of the ollama client" "$(tail -5 "$T_DIR/npm.log")"
		done_testing
		exit 1
	fi
fi
expect_eq "the pinned client is installed" "$(jq -r .dependencies.ollama "$NODE_DIR/package.json")" \
	"$(jq -r .version "$NODE_DIR/node_modules/ollama/package.json")"
nsessions=$("$PARLEY_BIN" sessions list --json | jq length)
PARLEY_URL="$S_URL" PARLEY_TOOLS_URL="$ST_URL" PARLEY_ERR_URL="$SE_URL" PARLEY_LMS_URL="$SL_URL" \
	timeout 60 node "$NODE_DIR/ollama.mjs" >"$T_DIR/client.out" 2>&1
rc=$?
while IFS=$'\t' read -r status name detail; do
	case "$status" in
	ok) ok "ollama-js: $name" ;;
	"not ok") not_ok "ollama-js: $name" "$detail" ;;
	esac
done <"$T_DIR/client.out"
expect_eq "client script ran to the end" "0 20" "$rc $(grep -c $'^ok\t\\|^not ok\t' "$T_DIR/client.out")"
[ "$rc" -ne 0 ] && sed 's/^/# /' "$T_DIR/client.out" | tail -20
run_parley sessions list --json
expect_eq "the client's chats landed in the store (the continued one as one session)" "true" \
	"$(jq --argjson n "$nsessions" 'length >= $n + 8' <<<"$OUT")"
check "the continued conversation is one session of four messages" \
	test "$(jq '[.[] | select(.title | startswith("first turn")) | .messages] | .[0]' <<<"$OUT")" = 4
done_testing
