#!/bin/bash
# The official openai npm SDK (pinned in tests/node/package.json) against
# parley serve backed by the test doubles: models, chat with usage, streams
# with finish and usage, a streamed tool call, a 404 and session binding.
# npm installs the SDK on first use; without node or npm this fails.
. "$TESTS_DIR/lib.sh"

NODE_DIR="$TESTS_DIR/node"
MODELS='[{"name":"llama3.2:latest","capabilities":["completion","tools"]},{"name":"qwen3:8b"}]'

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	not_ok "node and npm are installed" "install them (make deps) to run the SDK test"
	done_testing
	exit 1
fi
if [ ! -f "$NODE_DIR/node_modules/openai/package.json" ]; then
	if ! (cd "$NODE_DIR" && npm install --no-audit --no-fund >"$T_DIR/npm.log" 2>&1); then
		not_ok "npm install of the openai SDK" "$(tail -5 "$T_DIR/npm.log")"
		done_testing
		exit 1
	fi
fi
expect_eq "the pinned SDK is installed" "$(jq -r .dependencies.openai "$NODE_DIR/package.json")" \
	"$(jq -r .version "$NODE_DIR/node_modules/openai/package.json")"


start_fake F ollama '{"models":'"$MODELS"',"chat":{"echo":true}}' || exit 1
start_fake T ollama '{"models":'"$MODELS"',"chat":{"tokens":[],"tool_calls":[{"id":"call_k3x9a0qe","name":"get_weather","arguments":{"city":"Tokyo"}}]}}' || exit 1
start_serve S --provider ollama --base-url "$F_URL" --listen 127.0.0.1:0 || exit 1
start_serve ST --provider ollama --base-url "$T_URL" --listen 127.0.0.1:0 || exit 1

PARLEY_URL="$S_URL" PARLEY_TOOLS_URL="$ST_URL" timeout 60 node "$NODE_DIR/sdk.mjs" >"$T_DIR/sdk.out" 2>&1
rc=$?
while IFS=$'\t' read -r status name detail; do
	case "$status" in
	ok) ok "sdk: $name" ;;
	"not ok") not_ok "sdk: $name" "$detail" ;;
	esac
done <"$T_DIR/sdk.out"
expect_eq "sdk script ran to the end" "0 9" "$rc $(grep -c $'^ok\t\\|^not ok\t' "$T_DIR/sdk.out")"
[ "$rc" -ne 0 ] && sed 's/^/# /' "$T_DIR/sdk.out" | tail -20
done_testing
