#!/bin/bash
# Several backends at once ([backend NAME] sections): one model list with a
# backend column, model@backend, a plain name routed to a backend that has
# it (loaded first, then priority), failover before the first token (one
# down, one dying mid-stream before it, one without the model), none after
# it, `parley ps` with each backend's state, `parley serve` spreading
# concurrent requests by load, and configuration mistakes named.
. "$TESTS_DIR/lib.sh"

export PARLEY_DB="$T_DIR/b.db" PARLEY_NO_DISCOVER=1
# gpu: the fast box, llama3.2 loaded
start_fake G ollama '{"models":[{"name":"llama3.2:latest","loaded":true},{"name":"mistral:7b","loaded":false}],"chat":{"echo":true}}' || exit 1
# laptop: LM Studio-like, its own model, slow to answer
start_fake L openai '{"models":[{"name":"gemma3:4b"}],"chat":{"tokens":["from ","laptop"],"first_byte_delay_ms":200}}' || exit 1
# flaky: has mistral and llama3.2 (not loaded), ranks first, dies before its first token
start_fake K ollama '{"models":[{"name":"mistral:7b","loaded":false},{"name":"llama3.2:latest","loaded":false},{"name":"phi4:14b","loaded":false}],"chat":{"tokens":["never"],"drop_after":0}}' || exit 1
# spare: also has phi4, and also dies before its first token
start_fake X ollama '{"models":[{"name":"phi4:14b","loaded":false}],"chat":{"tokens":["never"],"drop_after":0}}' || exit 1
DOWN=http://127.0.0.1:$(free_port)

cat >"$T_DIR/parley.ini" <<INI
[backend gpu]
provider = ollama
base-url = $G_URL

[backend laptop]
provider = openai
base-url = $L_URL
priority = 5

[backend flaky]
provider = ollama
base-url = $K_URL
priority = 10

[backend spare]
provider = ollama
base-url = $X_URL

[backend attic]
provider = ollama
base-url = $DOWN
priority = 20
INI
export PARLEY_CONFIG="$T_DIR/parley.ini"
chats() { jq -c 'select(.path == "/api/chat" or .path == "/v1/chat/completions")' "$1" 2>/dev/null | wc -l; }

# one model list
run_parley models
expect_eq "models lists every backend's" 0 "$RC"
expect_eq "a backend column" "BACKEND" "$(head -1 <<<"$OUT" | awk '{print $1}')"
check "gpu's model" grep -qE '^gpu +llama3.2:latest' <<<"$OUT"
check "laptop's model" grep -qE '^laptop +gemma3:4b' <<<"$OUT"
check "flaky's model" grep -qE '^flaky +phi4:14b' <<<"$OUT"
run_parley models --json
expect_eq "JSON names the backend" '["flaky","gpu","laptop","spare"]' "$(jq -c '[.[].backend] | unique' <<<"$OUT")"

# routing
run_parley -m gemma3:4b "hello"
expect_eq "a model only the laptop has goes there" "0 from laptop" "$RC $OUT"
expect_eq "the laptop got the chat" 1 "$(chats "$L_LOG")"
run_parley -m llama3.2 "loaded?"
expect_eq "a model loaded on one backend goes to it, over priority" "0 echo: loaded?" "$RC $OUT"
expect_eq "flaky was not asked" 0 "$(chats "$K_LOG")"
run_parley -m mistral:7b "fail over"
expect_eq "flaky dies before its first token: gpu answers" "0 echo: fail over" "$RC $OUT"
expect_eq "flaky was tried first" 1 "$(chats "$K_LOG")"
check "the backend got the bare model name" test "$(last_chat "$G_LOG" | jq -r .body.model)" = "mistral:7b"
run_parley -m llama3.2@flaky "pinned"
expect_eq "model@backend pins it: the failure is the caller's" 5 "$RC"
run_parley -m mistral:7b@gpu "pinned"
expect_eq "model@backend" "0 echo: pinned" "$RC $OUT"
run_parley -m phi4:14b "only flaky has it"
expect_eq "no backend left to fail over to" 5 "$RC"
expect_contains "the error says what each did" "$ERR" "parley: spare: the connection to Ollama at $X_URL dropped"
expect_contains "the first one's failure too" "$ERR" "(tried before it: flaky: the connection to Ollama at $K_URL dropped"
run_parley -m nothing:1b "x"
expect_eq "a model no backend has" 4 "$RC"
expect_contains "names the backends" "$ERR" "model 'nothing:1b' is on none of the backends (gpu, laptop, flaky, spare, attic (down))"
run_parley -m gemma3:4b@nosuch "x"
expect_eq "an unknown backend suffix is part of the name" "4 model 'gemma3:4b@nosuch'" "$RC $(grep -o "model '[^']*'" <<<"$ERR")"
run_parley --json -m gemma3:4b "json"
expect_eq "sessions record the turn" 0 "$RC"

# ps: each backend's state
run_parley ps
expect_eq "ps" 0 "$RC"
check "the backend table" grep -qE '^BACKEND +PROVIDER +URL' <<<"$OUT"
check "a down backend says so" grep -qE "^attic +ollama +$DOWN +20 +down +could not connect" <<<"$OUT"
check "an up one" grep -qE "^gpu +ollama .* up " <<<"$OUT"
run_parley ps --json
expect_eq "ps --json: models and backends" '["attic","flaky","gpu","laptop","spare"]' "$(jq -c '[.backends[].name] | sort' <<<"$OUT")"
expect_eq "ps --json: the down one's error" down "$(jq -r '.backends[] | select(.name == "attic") | .state' <<<"$OUT")"

# configuration mistakes
printf '[backend gpu]\nprovider = vllm\n' >"$T_DIR/bad1.ini"
run_parley --config "$T_DIR/bad1.ini" models
expect_eq "unknown provider refused" 2 "$RC"
expect_contains "and named" "$ERR" "[backend gpu]: unknown provider 'vllm'"
printf '[backend gpu]\nweight = 3\n' >"$T_DIR/bad2.ini"
run_parley --config "$T_DIR/bad2.ini" models
expect_contains "unknown setting named" "$ERR" "[backend gpu]: unknown setting 'weight' (provider, base-url, api-key, priority)"
printf '[backend gpu]\npriority = high\n' >"$T_DIR/bad3.ini"
run_parley --config "$T_DIR/bad3.ini" models
expect_contains "bad priority named" "$ERR" "priority must be a whole number, not 'high'"
printf '[backend my box]\nprovider = ollama\n' >"$T_DIR/bad4.ini"
run_parley --config "$T_DIR/bad4.ini" models
expect_contains "bad name named" "$ERR" "a backend's name is 1 to 64 characters"
run_parley --provider ollama --base-url "$G_URL" models
expect_eq "a named backend outranks the sections" "NAME" "$(head -1 <<<"$OUT" | awk '{print $1}')"

# serve: two backends with the model, the same priority; two requests at once
start_fake S1 ollama '{"models":[{"name":"qwen3:8b"}],"chat":{"tokens":["a","b","c"],"delay_ms":300}}' || exit 1
start_fake S2 ollama '{"models":[{"name":"qwen3:8b"}],"chat":{"tokens":["a","b","c"],"delay_ms":300}}' || exit 1
printf '[backend one]\nbase-url = %s\n[backend two]\nbase-url = %s\n' "$S1_URL" "$S2_URL" >"$T_DIR/pair.ini"
PARLEY_CONFIG="$T_DIR/pair.ini" start_serve V --listen 127.0.0.1:0 || exit 1
both_ge() { [ $(($(chats "$S1_LOG") + $(chats "$S2_LOG"))) -ge "$1" ]; }
CURLS=()
for i in 1 2; do
	curl -s -m 20 -o "$T_DIR/r$i" -H 'Content-Type: application/json' \
		--data-binary "{\"model\":\"qwen3:8b\",\"messages\":[{\"role\":\"user\",\"content\":\"q$i\"}]}" \
		"$V_URL/v1/chat/completions" &
	CURLS+=($!)
	wait_for 10 both_ge "$i"
done
wait "${CURLS[@]}"
expect_eq "both answered" "abc abc" "$(jq -r '.choices[0].message.content' "$T_DIR/r1") $(jq -r '.choices[0].message.content' "$T_DIR/r2")"
expect_eq "the second went to the idle backend" "1 1" "$(chats "$S1_LOG") $(chats "$S2_LOG")"

# a backend whose list never comes (a machine asleep, an address that
# swallows packets) does not hold up a model another backend has
start_fake Z openai '{"models":[{"name":"llama3.2:latest"}],"models_delay_ms":-1}' || exit 1
printf '[backend gpu]\nbase-url = %s\n[backend sleepy]\nprovider = openai\nbase-url = %s\n' "$G_URL" "$Z_URL" >"$T_DIR/sleepy.ini"
timeout 20 "$PARLEY_BIN" --config "$T_DIR/sleepy.ini" -m llama3.2 "not waiting" >"$T_DIR/sleepy.out" 2>&1
expect_eq "pipe: the answer comes from the backend that listed it" "0 echo: not waiting" "$? $(cat "$T_DIR/sleepy.out")"
PARLEY_CONFIG="$T_DIR/sleepy.ini" start_serve W --listen 127.0.0.1:0 || exit 1
zlists() { jq -c 'select(.path == "/v1/models")' "$Z_LOG" | wc -l; }
for i in 1 2 3; do
	[ "$i" = 2 ] && asked=$(zlists)
	code=$(curl -s -m 20 -o "$T_DIR/w$i" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"w$i\"}]}" \
		"$W_URL/v1/chat/completions")
	expect_eq "serve, request $i: answered by the gpu" "200 echo: w$i" "$code $(jq -r '.choices[0].message.content' "$T_DIR/w$i")"
done
expect_eq "the sleepy backend, still asked, is not asked again by each request" "$asked" "$(zlists)"
done_testing
