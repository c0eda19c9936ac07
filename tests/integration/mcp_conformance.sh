#!/bin/bash
# The MCP conformance suite's client scenarios (@modelcontextprotocol/
# conformance, pinned in tests/node/package.json) with parley as the
# client, through tests/tools/conformance-client.sh: initialize (the
# handshake), tools_call (a tool the model asks for is called) and
# sse-retry (a request's event stream closed before its answer is resumed
# with a GET carrying Last-Event-ID, after the stream's retry: time).
# Elicitation and the OAuth scenarios test what parley does not offer.
. "$TESTS_DIR/lib.sh"

export PARLEY_NO_DISCOVER=1 PARLEY_DB="$T_DIR/c.db"
CONF="$TESTS_DIR/node/node_modules/.bin/conformance"
if ! command -v node >/dev/null || [ ! -x "$CONF" ]; then
	not_ok "the conformance suite is installed" "run make deps (npm ci in tests/node)"
	done_testing
	exit 1
fi
expect_eq "the pinned suite is installed" "$(jq -r '.dependencies["@modelcontextprotocol/conformance"]' "$TESTS_DIR/node/package.json")" \
	"$(jq -r .version "$TESTS_DIR/node/node_modules/@modelcontextprotocol/conformance/package.json")"

for sc in initialize tools_call sse-retry; do
	out="$T_DIR/out-$sc"
	timeout 120 "$CONF" client --command "bash $TESTS_DIR/tools/conformance-client.sh" --scenario "$sc" \
		--timeout 30000 -o "$out" >"$T_DIR/$sc.log" 2>&1
	rc=$?
	checks=$(find "$out" -name checks.json | head -1)
	if [ -z "$checks" ]; then
		not_ok "$sc: the suite graded the run" "$(tail -5 "$T_DIR/$sc.log")"
		continue
	fi
	expect_eq "$sc: the suite passes it" 0 "$rc"
	# a reconnection the suite finds a little late (a loaded machine) is a
	# warning, not a failure; nothing else may warn
	expect_eq "$sc: no check failed or warned" "" \
		"$(jq -r '.[] | select(.status == "FAILURE" or (.status == "WARNING" and .name != "ClientRespectsRetryField")) | "\(.name): \(.errorMessage // "")"' "$checks")"
	expect_eq "$sc: checks that passed" true "$(jq '[.[] | select(.status == "SUCCESS")] | length > 0' "$checks")"
	dir=$(dirname "$checks")
	check "$sc: the client exited cleanly, no sanitizer report" \
		test -z "$(grep -E 'Sanitizer|runtime error' "$dir/stderr.txt" 2>/dev/null)"
done
# the three sse-retry checks by name: reconnect, its timing, Last-Event-ID
expect_eq "sse-retry: reconnected by GET, not before retry:, with Last-Event-ID" \
	"ClientGracefulReconnect ClientRespectsRetryField ClientSendsLastEventId" \
	"$(jq -r '[.[] | select(.status == "SUCCESS" or (.status == "WARNING" and .name == "ClientRespectsRetryField")) | .name] | sort | join(" ")' "$(find "$T_DIR/out-sse-retry" -name checks.json | head -1)")"
done_testing
