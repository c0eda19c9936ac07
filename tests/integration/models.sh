#!/bin/bash
# Model management through the real binary: models, show, ps, pull, rm, cp,
# on Ollama and on the OpenAI-compatible servers.
. "$TESTS_DIR/lib.sh"

MODELS='[{"name":"llama3.2:latest","parameter_size":"3.2B","quantization_level":"Q4_K_M","size":2019393189,"context_length":131072,"capabilities":["completion","tools"],"loaded":true},
 {"name":"qwen3:8b","parameter_size":"8.2B","quantization_level":"Q4_K_M","size":5225387923,"loaded":false}]'
start_fake F ollama '{"models":'"$MODELS"',
 "pull":[{"layers":[{"digest":"sha256:dde5aa3fc5ffc17176b5e8bdc82f587b24b2678c6c66101bf7da77af9f7ccdff","total":2019377376},{"digest":"sha256:966de95ca8a62200913e3f8bfbf84c8494536f1b94b49166851e76644e966396","total":1429,"cached":true}],"steps":4},
         {"error":"pull model manifest: file does not exist"}]}'
O="--provider ollama --base-url $F_URL"

run_parley $O models
expect_eq "models: exit 0" 0 "$RC"
expect_contains "models: header" "$OUT" "NAME"
expect_contains "models: a row with params, quant and size" "$(grep llama3.2 <<<"$OUT")" "3.2B      Q4_K_M       2.0 GB"
expect_eq "models: one row per model" 3 "$(wc -l <<<"$OUT")"
run_parley $O models --json
expect_eq "models --json" '["llama3.2:latest","qwen3:8b"]' "$(jq -c '[.[].name]' <<<"$OUT")"
expect_eq "models --json sizes" '2019393189' "$(jq '.[0].size' <<<"$OUT")"

run_parley $O show llama3.2
expect_eq "show: exit 0" 0 "$RC"
expect_contains "show: context length" "$OUT" "context length"
expect_contains "show: capabilities" "$OUT" "tools"
run_parley $O show llama3.2 --json
expect_eq "show --json: normalised context length" 131072 "$(jq .context_length <<<"$OUT")"
run_parley $O show nosuch
expect_eq "show: unknown model is exit 4" 4 "$RC"

run_parley $O ps
expect_contains "ps: the loaded model" "$OUT" "llama3.2:latest"
expect_not_contains "ps: not the unloaded one" "$OUT" "qwen3"

run_parley $O pull newmodel
expect_eq "pull: exit 0" 0 "$RC"
expect_contains "pull: manifest status" "$ERR" "pulling manifest"
expect_contains "pull: layer line with short digest" "$ERR" "pulling dde5aa3fc5ff: 100%"
expect_contains "pull: sizes" "$ERR" "2.0 GB/2.0 GB"
expect_contains "pull: cached layer" "$ERR" "pulling 966de95ca8a6: 100%"
expect_contains "pull: verifying" "$ERR" "verifying sha256 digest"
expect_contains "pull: success" "$ERR" "success"
expect_eq "pull: request names the model" '"newmodel"' "$(tail -n1 "$F_LOG" | jq -c .body.model)"
run_parley $O models --json
expect_contains "pull: the model is listed afterwards" "$(jq -r '.[].name' <<<"$OUT")" "newmodel:latest"

run_parley $O pull --json nosuchmodel
expect_eq "pull failure: exit 5" 5 "$RC"
expect_contains "pull failure: the server's reason" "$ERR" "file does not exist"
expect_eq "pull --json: events on stdout" '"pulling manifest"' "$(head -n1 <<<"$OUT" | jq -c .status)"

run_parley $O cp llama3.2 llama-backup
expect_eq "cp: exit 0" 0 "$RC"
expect_eq "cp: request" '{"source":"llama3.2","destination":"llama-backup"}' "$(tail -n1 "$F_LOG" | jq -c .body)"
run_parley $O cp nosuch other
expect_eq "cp: unknown source is exit 4" 4 "$RC"
run_parley $O rm llama-backup
expect_eq "rm: exit 0" 0 "$RC"
expect_eq "rm: DELETE with the model" 'DELETE {"model":"llama-backup"}' "$(tail -n1 "$F_LOG" | jq -rc '"\(.method) \(.body|tojson)"')"
run_parley $O rm llama-backup
expect_eq "rm: gone now, exit 4" 4 "$RC"
run_parley $O rm
expect_eq "rm without a model: usage" 2 "$RC"

port=$(free_port)
run_parley --provider ollama --base-url "http://127.0.0.1:$port" models
expect_eq "models: unreachable is exit 3" 3 "$RC"
expect_contains "models: unreachable names the URL" "$ERR" "127.0.0.1:$port"

# LM Studio: its own REST API gives loaded state and context length.
start_fake L lmstudio '{"models":[{"name":"qwen2.5-7b-instruct","loaded":true,"context_length":32768},{"name":"phi-4","loaded":false}]}'
run_parley --provider lm-studio --base-url "$L_URL" models --json
expect_eq "lm-studio: loaded state" '[true,false]' "$(jq -c '[.[].loaded]' <<<"$OUT")"
expect_eq "lm-studio: context length" '32768' "$(jq '.[0].context_length' <<<"$OUT")"
run_parley --provider lm-studio --base-url "$L_URL" ps
expect_contains "lm-studio ps: loaded model" "$OUT" "qwen2.5-7b-instruct"
expect_not_contains "lm-studio ps: not the other" "$OUT" "phi-4"
run_parley --provider lm-studio --base-url "$L_URL" pull llama3.2
expect_eq "lm-studio: pull is Ollama's" 1 "$RC"
expect_contains "lm-studio: pull says so" "$ERR" "Ollama's"

# llama-server: /v1/models with meta.
start_fake Q llamaserver '{"models":[{"name":"ggml-model-q4_k_m","context_length":4096}]}'
run_parley --provider openai --base-url "$Q_URL" models --json
expect_eq "llama-server: model listed" '"ggml-model-q4_k_m"' "$(jq '.[0].name' <<<"$OUT")"
run_parley --provider openai --base-url "$Q_URL" rm x
expect_eq "llama-server: rm is Ollama's" 1 "$RC"

done_testing
