#!/bin/bash
# Pipe mode through the real binary against the backend doubles: streaming,
# stdin, options mapping per backend, attachments, JSON events, and every
# error path with its exit status.
. "$TESTS_DIR/lib.sh"

MODELS='[{"name":"llama3.2:latest","capabilities":["completion","tools","thinking","vision"]},{"name":"qwen3:8b"}]'
P() { run_parley --no-save "$@"; }
last_req() { last_chat "$1" | jq -c "$2"; }

# --- the basics -------------------------------------------------------------
start_fake F ollama '{"models":'"$MODELS"',"chat":{"tokens":["Hel","lo, ","world"]}}'
P --provider ollama --base-url "$F_URL" -m llama3.2 hi
expect_eq "answer on stdout" "Hello, world" "$OUT"
expect_eq "exit 0" 0 "$RC"
expect_eq "request carries the prompt" '"hi"' "$(last_req "$F_LOG" '.body.messages[-1].content')"
expect_eq "request streams" 'true' "$(last_req "$F_LOG" '.body.stream')"
expect_eq "model name sent as given" '"llama3.2"' "$(last_req "$F_LOG" '.body.model')"

echo "from stdin" | "$PARLEY_BIN" --no-save --provider ollama --base-url "$F_URL" -m llama3.2 >/dev/null 2>&1
expect_eq "prompt from stdin" '"from stdin\n"' "$(last_req "$F_LOG" '.body.messages[-1].content')"
printf 'line one\nline two\n' | "$PARLEY_BIN" --no-save --provider ollama --base-url "$F_URL" -m llama3.2 summarise this >/dev/null 2>&1
expect_eq "arguments then stdin as a document" '"summarise this\n\nline one\nline two\n"' "$(last_req "$F_LOG" '.body.messages[-1].content')"

"$PARLEY_BIN" --no-save --provider ollama --base-url "$F_URL" -m llama3.2 </dev/null >/dev/null 2>"$T_DIR/err"
RC=$?
expect_eq "no prompt is a usage error" 2 "$RC"
expect_contains "no prompt says so" "$(cat "$T_DIR/err")" "no prompt"

P --provider ollama --base-url "$F_URL" -m llama3.2 --system "be brief" hi
expect_eq "system prompt first" '{"role":"system","content":"be brief"}' "$(last_req "$F_LOG" '.body.messages[0]|{role,content}')"

P --provider ollama --base-url "$F_URL" -m llama3.2 --no-stream hi
expect_eq "--no-stream asks for one piece" 'false' "$(last_req "$F_LOG" '.body.stream')"
expect_eq "--no-stream prints the answer" "Hello, world" "$OUT"

# --- options mapping: Ollama gets num_predict, never max tokens as num_ctx ---
P --provider ollama --base-url "$F_URL" -m llama3.2 -o max_tokens=5 -o num_ctx=4096 \
	-o temperature=0.2 -o stop=END -o seed=7 -o keep_alive=10m hi
expect_eq "ollama options" '{"num_ctx":4096,"num_predict":5,"seed":7,"stop":["END"],"temperature":0.2}' \
	"$(last_req "$F_LOG" '.body.options|to_entries|sort_by(.key)|from_entries')"
expect_eq "keep_alive at top level" '"10m"' "$(last_req "$F_LOG" '.body.keep_alive')"

P --provider ollama --base-url "$F_URL" -m llama3.2 --think hi
expect_eq "--think on" 'true' "$(last_req "$F_LOG" '.body.think')"
P --provider ollama --base-url "$F_URL" -m llama3.2 --think=off hi
expect_eq "--think=off" 'false' "$(last_req "$F_LOG" '.body.think')"
P --provider ollama --base-url "$F_URL" -m llama3.2 --think=high hi
expect_eq "--think=high" '"high"' "$(last_req "$F_LOG" '.body.think')"

# --- attachments --------------------------------------------------------------
printf '\x89PNG\r\n\x1a\n0000IHDR' >"$T_DIR/pic.png"
want_b64=$(base64 -w0 "$T_DIR/pic.png")
P --provider ollama --base-url "$F_URL" -m llama3.2 -i "$T_DIR/pic.png" what is this
expect_eq "image as raw base64 for Ollama" "\"$want_b64\"" "$(last_req "$F_LOG" '.body.messages[-1].images[0]')"
printf 'int main(void) { return 0; }\n' >"$T_DIR/main.c"
P --provider ollama --base-url "$F_URL" -m llama3.2 -f "$T_DIR/main.c" review
expect_contains "text file appended" "$(last_req "$F_LOG" '.body.messages[-1].content')" 'int main(void)'
P --provider ollama --base-url "$F_URL" -m llama3.2 -i "$T_DIR/main.c" hi
expect_eq "a non-image is refused" 2 "$RC"
expect_contains "refusal names the file" "$ERR" "main.c is not a PNG"

# --- thinking, stats, JSON events -------------------------------------------
start_fake T ollama '{"models":'"$MODELS"',"chat":{"thinking":["Simple"," sum."],"tokens":["4"]}}'
P --provider ollama --base-url "$T_URL" -m llama3.2 -v "2+2?"
expect_eq "thinking stays off stdout" "4" "$OUT"
expect_contains "thinking on stderr" "$ERR" "Simple sum."
expect_contains "-v prints token counts" "$ERR" "prompt 14 tokens, reply 3 tokens"
expect_contains "-v prints tok/s" "$ERR" "tok/s"
P --provider ollama --base-url "$T_URL" -m llama3.2 --hide-thinking "2+2?"
expect_not_contains "--hide-thinking hides it" "$ERR" "Simple"
P --provider ollama --base-url "$T_URL" -m llama3.2 --json "2+2?"
expect_eq "JSON event types" 'thinking thinking token done' "$(jq -r .type <<<"$OUT" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "JSON done stats" '14 3 false' "$(jq -r 'select(.type=="done")|"\(.stats.prompt_tokens) \(.stats.reply_tokens) \(.stats.estimated)"' <<<"$OUT")"

# --- bytes split everywhere: exact text --------------------------------------
start_fake S ollama '{"models":'"$MODELS"',"chat":{"tokens":["<b>&amp;</b> ","日本語 ","✓ 🎉 ","\"q\"\\n"],"chunk_bytes":1}}'
P --provider ollama --base-url "$S_URL" -m llama3.2 hi
expect_eq "one byte per read gives exact text" '<b>&amp;</b> 日本語 ✓ 🎉 "q"\n' "$OUT"

# --- errors and exit codes ----------------------------------------------------
port=$(free_port)
P --provider ollama --base-url "http://127.0.0.1:$port" -m llama3.2 hi
expect_eq "refused: exit 3" 3 "$RC"
expect_contains "refused names the URL" "$ERR" "127.0.0.1:$port"
expect_contains "refused says how to start it" "$ERR" "ollama serve"

P --provider ollama --base-url "$F_URL" -m nosuch hi
expect_eq "missing model: exit 4" 4 "$RC"
expect_contains "missing model: pull hint" "$ERR" "parley pull nosuch"

start_fake E ollama '{"models":'"$MODELS"',"chat":{"status":500,"error":"llama runner process has terminated"}}'
P --provider ollama --base-url "$E_URL" -m llama3.2 hi
expect_eq "HTTP 500: exit 5" 5 "$RC"
expect_contains "HTTP 500: server reason" "$ERR" "llama runner process has terminated"

start_fake M ollama '{"models":'"$MODELS"',"chat":{"tokens":["one ","two ","three"],"error_after":2,"error":"out of memory"}}'
P --provider ollama --base-url "$M_URL" -m llama3.2 hi
expect_eq "error line mid-stream: exit 5" 5 "$RC"
expect_eq "error line mid-stream: text kept" "one two " "$OUT"
expect_contains "error line mid-stream: reason" "$ERR" "out of memory"

start_fake D ollama '{"models":'"$MODELS"',"chat":{"tokens":["one ","two ","three"],"drop_after":2}}'
P --provider ollama --base-url "$D_URL" -m llama3.2 hi
expect_eq "dropped mid-line: exit 5" 5 "$RC"
expect_eq "dropped mid-line: text kept" "one two " "$OUT"
expect_contains "dropped mid-line: says so" "$ERR" "dropped"

start_fake G ollama '{"models":'"$MODELS"',"chat":{"tokens":["one ","two ","three"],"garbage_after":1}}'
P --provider ollama --base-url "$G_URL" -m llama3.2 hi
expect_eq "garbage: exit 5" 5 "$RC"
expect_eq "garbage: text kept" "one " "$OUT"
expect_contains "garbage: says so" "$ERR" "malformed"

start_fake H ollama '{"models":'"$MODELS"',"chat":{"hang":true}}'
P --provider ollama --base-url "$H_URL" -m llama3.2 --read-timeout 1 hi
expect_eq "silent server: exit 5 after the read timeout" 5 "$RC"
expect_contains "silent server: says so" "$ERR" "did not answer in time"

start_fake I ollama '{"models":'"$MODELS"',"chat":{"tokens":["tick "],"repeat":400,"delay_ms":25}}'
"$PARLEY_BIN" --no-save --provider ollama --base-url "$I_URL" -m llama3.2 hi >"$T_DIR/int.out" 2>"$T_DIR/int.err" &
pid=$!
wait_for 10 grep -q tick "$T_DIR/int.out"
kill -INT $pid
wait $pid
RC=$?
expect_eq "SIGINT: exit 130" 130 "$RC"
expect_contains "SIGINT: partial text kept" "$(cat "$T_DIR/int.out")" "tick"
expect_contains "SIGINT: says interrupted" "$(cat "$T_DIR/int.err")" "interrupted"

# --- OpenAI-compatible servers -----------------------------------------------
start_fake O openai '{"models":[{"name":"m1"}],"api_key":"sekret","chat":{"thinking":["hmm"],"tokens":["Hi"," there"],"chunk_bytes":3}}'
P --provider openai --base-url "$O_URL/v1" --api-key sekret -m m1 -o max_tokens=9 -o num_ctx=2048 -o top_k=5 hello
expect_eq "openai: answer" "Hi there" "$OUT"
expect_eq "openai: bearer key sent" '"Bearer sekret"' "$(last_req "$O_LOG" '.authorization')"
expect_eq "openai: max_tokens, no num_ctx" '9 null 5' "$(last_req "$O_LOG" '"\(.body.max_tokens) \(.body.num_ctx) \(.body.top_k)"' | tr -d '"')"
expect_eq "openai: usage asked for" 'true' "$(last_req "$O_LOG" '.body.stream_options.include_usage')"
expect_contains "openai: reasoning_content on stderr" "$ERR" "hmm"
P --provider openai --base-url "$O_URL" --api-key wrong -m m1 hello
expect_eq "openai: wrong key is exit 5" 5 "$RC"
expect_contains "openai: wrong key says to check it" "$ERR" "--api-key"
P --provider openai --base-url "$O_URL" --api-key sekret -m m1 -i "$T_DIR/pic.png" look
expect_eq "openai: image as a data URL" "\"data:image/png;base64,$want_b64\"" \
	"$(last_req "$O_LOG" '.body.messages[-1].content[]|select(.type=="image_url")|.image_url.url')"
P --provider openai --base-url "$O_URL" --api-key sekret -m nope hello
expect_eq "openai: unknown model is exit 4" 4 "$RC"

start_fake W openai '{"models":[{"name":"m1"}],"chat":{"tool_calls":[{"id":"call_abc","name":"get_weather","arguments":{"city":"Tokyo"}}]}}'
P --provider openai --base-url "$W_URL" -m m1 --json "weather?"
expect_eq "fragmented tool call reassembled" '{"type":"tool_call","id":"call_abc","name":"get_weather","arguments":{"city":"Tokyo"}}' \
	"$(jq -c 'select(.type=="tool_call")' <<<"$OUT")"
expect_eq "tool call finish reason" '"tool_calls"' "$(jq -c 'select(.type=="done")|.stats.finish' <<<"$OUT")"

start_fake L lmstudio '{"models":[{"name":"qwen2.5-7b-instruct","loaded":true},{"name":"other","loaded":false}],"chat":{"thinking":["r"],"tokens":["ok"]}}'
P --provider lm-studio --base-url "$L_URL" -m qwen2.5-7b-instruct -v hi
expect_eq "lm-studio: answer" "ok" "$OUT"
P --provider lm-studio --base-url "$L_URL" -m other hi
expect_eq "lm-studio: unloaded model is exit 4" 4 "$RC"
expect_contains "lm-studio: says how to load it" "$ERR" "lms load"

start_fake Q llamaserver '{"models":[{"name":"ggml-model"}],"chat":{"tokens":["a","b"],"usage":false,"ping_every":1}}'
P --provider openai --base-url "$Q_URL" -m ggml-model --json hi
expect_eq "llama-server: pings ignored, timings used" 'ab 2' \
	"$(jq -r 'select(.type=="token").text' <<<"$OUT" | tr -d '\n') $(jq -r 'select(.type=="done").stats.reply_tokens' <<<"$OUT")"

start_fake X openai '{"models":[{"name":"m1"}],"chat":{"tokens":["a ","b ","c"],"error_after":2,"error":"overloaded"}}'
P --provider openai --base-url "$X_URL" -m m1 hi
expect_eq "openai: error event mid-stream is exit 5" 5 "$RC"
expect_eq "openai: partial kept" "a b " "$OUT"
expect_contains "openai: reason" "$ERR" "overloaded"

# --- discovery and defaults ---------------------------------------------------
OLLAMA_HOST="${F_URL#http://}" P -m llama3.2 hi
expect_eq "OLLAMA_HOST finds the server" "Hello, world" "$OUT"
P --base-url "$O_URL" --api-key sekret -m m1 hi
expect_eq "--base-url alone detects an OpenAI server" "Hi there" "$OUT"
LM_STUDIO_BASE_URL="$L_URL/v1" LM_STUDIO_MODEL=qwen2.5-7b-instruct P hi
expect_eq "LM Studio seed variables" "ok" "$OUT"
P --provider ollama --base-url "$F_URL" -v hi
expect_contains "no model named: a loaded one is used" "$ERR" "using llama3.2:latest"
expect_eq "no model named: answer" "Hello, world" "$OUT"

# --- --extract: only the code, as the chat screen numbers its blocks ---------
CODE_TOKENS='["Here you go:\n\n```sh\n","echo one\n","```\n\nAnd in Python:\n\n~~~python\nprint(2)\n~~~\n\n","````md\n```c\nint x;\n```\n````\n"]'
start_fake XC ollama '{"models":[{"name":"llama3.2:latest"}],"chat":[{"tokens":'"$CODE_TOKENS"'},{"tokens":'"$CODE_TOKENS"'},{"tokens":'"$CODE_TOKENS"'},{"tokens":'"$CODE_TOKENS"'},{"tokens":["no code, ","only prose"]},{"tokens":["```py\n","print(3)\n"],"error_after":2,"error":"CUDA error"}]}' || exit 1
XP() { P --provider ollama --base-url "$XC_URL" -m llama3.2 "$@"; }
XP --extract write a script
expect_eq "--extract prints the first code block alone" "0 echo one" "$RC $OUT"
XP --extract=2 again
expect_eq "--extract=2: a tilde fence counts" "0 print(2)" "$RC $OUT"
XP --extract=last again
expect_eq "--extract=last: a fence inside a longer fence is one block" '0 ```c
int x;
```' "$RC $OUT"
XP --extract=4 again
expect_eq "--extract=4 of 3: status 1, nothing on stdout" "1 " "$RC $OUT"
expect_contains "it says how many there are" "$ERR" "no code block 4: it has 3"
expect_contains "and the reply is not lost: it is on stderr" "$ERR" "And in Python:"
XP --extract prose please
expect_eq "no code block at all: status 1" "1 " "$RC $OUT"
expect_contains "the prose reply goes to stderr" "$ERR" "no code, only prose"
XP --extract cut off
expect_eq "an error mid-block: status 5, the code that arrived" "5 print(3)" "$RC $OUT"
XP --extract --json x
expect_eq "--extract with --json is a usage error" 2 "$RC"
XP --extract=zero x
expect_eq "a bad --extract value is a usage error" 2 "$RC"
expect_contains "naming the value" "$ERR" "--extract takes a block number from 1 or 'last', not 'zero'"
printf 'extract = 1\n' >"$T_DIR/extract.ini"
P --config "$T_DIR/extract.ini" --provider ollama --base-url "$XC_URL" -m llama3.2 x
expect_eq "extract in the configuration file is refused" 2 "$RC"

done_testing
