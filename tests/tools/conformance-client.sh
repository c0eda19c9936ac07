#!/bin/bash
# The client side of an MCP conformance scenario: the harness runs this
# with the scenario server's URL as the last argument and the scenario's
# name in MCP_CONFORMANCE_SCENARIO. parley is the client under test: for
# initialize it lists the server's tools (parley tools); for the tool
# scenarios a backend double asks the model's way for the scenario's tool
# and parley, in pipe mode, calls it. PARLEY_BIN and FAKELLM come from the
# test that runs the harness.
set -u
url=${*: -1}
dir=$(mktemp -d "${TMPDIR:-/tmp}/parley-conf.XXXXXX")
trap 'kill "${fake:-}" 2>/dev/null; rm -rf "$dir"' EXIT
printf '{"mcpServers":{"srv":{"url":"%s"}}}\n' "$url" >"$dir/mcp.json"

# pipe_call TOOL ARGS_JSON: a model that calls srv__TOOL once, then answers
pipe_call() {
	printf '{"models":[{"name":"m:latest"}],"chat":[{"tokens":[],"tool_calls":[{"id":"c1","name":"srv__%s","arguments":%s}]},{"tokens":["done"]}]}\n' \
		"$1" "$2" >"$dir/scenario.json"
	"$FAKELLM" --flavor ollama --scenario "$dir/scenario.json" --port-file "$dir/port" 2>"$dir/fake.err" &
	fake=$!
	for _ in $(seq 500); do
		[ -s "$dir/port" ] && break
		sleep 0.01
	done
	"$PARLEY_BIN" --no-save --no-discover --provider ollama --base-url "http://127.0.0.1:$(cat "$dir/port")" -m m \
		--mcp "$dir/mcp.json" --tools srv --approve always "use the tool" </dev/null
}

case "${MCP_CONFORMANCE_SCENARIO:-}" in
initialize) "$PARLEY_BIN" --mcp "$dir/mcp.json" tools --json ;;
tools_call) pipe_call add_numbers '{"a":2,"b":3}' ;;
sse-retry) pipe_call test_reconnection '{}' ;;
*)
	echo "conformance-client: no plan for scenario '${MCP_CONFORMANCE_SCENARIO:-}'" >&2
	exit 2
	;;
esac
