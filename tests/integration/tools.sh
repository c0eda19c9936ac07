#!/bin/bash
# MCP tools through the real binary against real MCP servers from npm
# (server-filesystem, server-everything over stdio and Streamable HTTP,
# server-memory) and a misbehaving one of our own (tests/fakes/mcp_bad.mjs):
# parley tools, and pipe mode running the model's tool calls with
# --tools/--approve, the results sent back and stored, errors of every
# kind handed to the model while the chat goes on.
. "$TESTS_DIR/lib.sh"

MCPDIR="$TESTS_DIR/node/node_modules/@modelcontextprotocol"
BAD="$TESTS_DIR/fakes/mcp_bad.mjs"
if ! command -v node >/dev/null || [ ! -f "$MCPDIR/server-everything/package.json" ]; then
	not_ok "the MCP servers are installed" "run make deps (npm ci in tests/node)"
	done_testing
	exit 1
fi
WORK="$T_DIR/work"
mkdir -p "$WORK"
printf 'the door code is 4711\n' >"$WORK/notes.txt"
HTTP_PORT=$(free_port)
PORT=$HTTP_PORT node "$MCPDIR/server-everything/dist/index.js" streamableHttp >"$T_DIR/everything-http.log" 2>&1 &
T_PIDS+=($!)
MCP="$T_DIR/mcp.json"
cat >"$MCP" <<JSON
{"mcpServers": {
  "fs": {"command": "node", "args": ["$MCPDIR/server-filesystem/dist/index.js", "\${WORKDIR}"]},
  "everything": {"command": "node", "args": ["$MCPDIR/server-everything/dist/index.js", "stdio"]},
  "memory": {"command": "node", "args": ["$MCPDIR/server-memory/dist/index.js"], "env": {"MEMORY_FILE_PATH": "$T_DIR/memory.jsonl"}},
  "web": {"url": "http://127.0.0.1:$HTTP_PORT/mcp"},
  "bad": {"command": "node", "args": ["$BAD", "--log", "$T_DIR/bad.log", "--list-delay", "300"], "timeout": 2},
  "junk": {"command": "node", "args": ["$BAD", "--garbage"]},
  "gone": {"command": "node", "args": ["$BAD", "--exit-at-start"]},
  "nosuch": {"command": "parley-no-such-server"},
  "off": {"command": "node", "args": ["$BAD"], "disabled": true}
}}
JSON
export WORKDIR="$WORK"
wait_for 20 curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/mcp" || echo "# server-everything over HTTP did not start: $(cat "$T_DIR/everything-http.log")"

# --- parley tools ----------------------------------------------------------
run_parley --mcp "$MCP" tools --json
expect_eq "parley tools: a failed server makes exit 1" "1" "$RC"
printf '%s\n' "$OUT" >"$T_DIR/tools.json"
st() { jq -r --arg n "$1" '.servers[]|select(.name==$n)|.state' "$T_DIR/tools.json"; }
expect_eq "every server's state" "ready ready ready ready ready ready failed failed disabled" \
	"$(for s in fs everything memory web bad junk gone nosuch off; do st $s; done | tr '\n' ' ' | sed 's/ $//')"
expect_eq "stdio and Streamable HTTP" "stdio http" "$(jq -r '.servers[]|select(.name=="everything" or .name=="web")|.transport' "$T_DIR/tools.json" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "protocol 2025-11-25 negotiated" "2025-11-25" "$(jq -r '[.servers[]|select(.state=="ready")|.protocol]|unique|join(",")' "$T_DIR/tools.json")"
expect_eq "\${VAR} expanded in args: the filesystem server sees the scratch folder" "true" \
	"$(jq '[.servers[]|select(.name=="fs")|.tools[].name]|index("fs__read_text_file") != null' "$T_DIR/tools.json")"
expect_eq "names are server__tool within [A-Za-z0-9_-]{1,64}" "true" \
	"$(jq '[.servers[].tools[].name|test("^[A-Za-z0-9_-]{1,64}$")]|all' "$T_DIR/tools.json")"
expect_eq "a tool's name on its server is kept for the call" '"get-sum" "everything__get-sum"' \
	"$(jq -c '.servers[]|select(.name=="everything")|.tools[]|select(.tool=="get-sum")|.tool, .name' "$T_DIR/tools.json" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "both pages of a paginated list, after its slow answer" "ok huge hang die fail rpcfail grow ask" \
	"$(jq -r '.servers[]|select(.name=="bad")|.tools[].tool' "$T_DIR/tools.json" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "\$schema is not passed to the model" "false" "$(jq '[.servers[].tools[].input_schema|has("$schema")]|any' "$T_DIR/tools.json")"
expect_eq "annotations become hints" '{"read_only":true,"destructive":false,"idempotent":false,"open_world":true}' \
	"$(jq -c '.servers[]|select(.name=="bad")|.tools[]|select(.tool=="ok")|.hints' "$T_DIR/tools.json")"
expect_eq "a server whose lines are half garbage still works" "8" "$(jq '.servers[]|select(.name=="junk")|.tools|length' "$T_DIR/tools.json")"
expect_contains "a command that does not exist: said so" "$(jq -r '.servers[]|select(.name=="nosuch")|.error' "$T_DIR/tools.json")" \
	"cannot run parley-no-such-server: No such file or directory"
expect_contains "a server that exits at once: its status and last words" "$(jq -r '.servers[]|select(.name=="gone")|.error' "$T_DIR/tools.json")" \
	"exited with status 3 (last said: mcp_bad: refusing to start)"
check "the servers' stderr is in the log" grep -q '\[fs\] Secure MCP Filesystem Server running on stdio' "$XDG_STATE_HOME/parley/mcp.log"
run_parley --mcp "$MCP" tools fs memory
expect_eq "parley tools NAME...: only those, exit 0" "0" "$RC"
expect_contains "the text table" "$OUT" "fs__read_text_file(path, tail?, head?)  [read-only]"
expect_not_contains "others are not started" "$OUT" "everything"
run_parley --mcp "$MCP" tools fs --call fs__read_text_file --args '{"path":"'"$WORK"'/notes.txt"}'
expect_eq "tools --call runs one tool by hand" "0 the door code is 4711" "$RC $OUT"
run_parley --mcp "$MCP" tools bad --call bad__fail --json
expect_eq "tools --call --json: a failing tool, exit 1" '1 "Error: the disk is on fire" true 1' \
	"$RC $(jq -c '.content, .error, (.us|length)' <<<"$OUT" | tr '\n' ' ' | sed 's/ $//')"
run_parley --mcp "$MCP" tools fs --call fs__nope
expect_eq "tools --call of a tool that does not exist: exit 2" "2" "$RC"
run_parley --mcp "$MCP" tools nope
expect_eq "an unknown server: usage error" "2" "$RC"
expect_contains "naming it" "$ERR" "nope is neither a configured MCP server"
printf '{"mcpServers": {"x": {"args": []}}}' >"$T_DIR/badconf.json"
run_parley --mcp "$T_DIR/badconf.json" tools
expect_contains "an entry without command or url: the file, the server, what is missing" "$RC $ERR" \
	"2 parley: $T_DIR/badconf.json: server \"x\" needs \"command\""
printf '{"mcpServers": {' >"$T_DIR/broken.json"
run_parley --mcp "$T_DIR/broken.json" tools
expect_contains "a file that is not JSON: line and column" "$RC $ERR" "2 parley: $T_DIR/broken.json:1:"
run_parley tools
expect_eq "no file at all: no servers, exit 0" "0" "$RC"
expect_contains "and how to add some" "$ERR" "no MCP servers are configured"

# --- pipe mode: the model calls tools ---------------------------------------
call() { printf '{"tokens":[],"tool_calls":[{"id":"%s","name":"%s","arguments":%s}]}' "$1" "$2" "$3"; }
tool_msgs() { jq -c 'select(.path=="/api/chat")|[.body.messages[]|select(.role=="tool")|{tool_call_id,tool_name,content}]' "$1" | tail -n 1; }

start_fake F ollama '{"models":[{"name":"qwen3:8b"}],"chat":['"$(call c1 fs__read_text_file '{"path":"'"$WORK"'/notes.txt"}')"',{"tokens":["The code ","is 4711."]}]}' || exit 1
run_parley --provider ollama --base-url "$F_URL" -m qwen3:8b --mcp "$MCP" --tools fs --approve always "what is the door code?"
expect_eq "a tool round: the model's final answer on stdout" "0 The code is 4711." "$RC $OUT"
expect_eq "the file's text went back as a tool message for the call" \
	'[{"tool_call_id":"c1","tool_name":"fs__read_text_file","content":"the door code is 4711\n"}]' "$(tool_msgs "$F_LOG")"
expect_eq "only the named server's tools were offered" "14 true" \
	"$(last_chat "$F_LOG" | jq -c '(.body.tools|length), ([.body.tools[].function.name|startswith("fs__")]|all)' | tr '\n' ' ' | sed 's/ $//')"
expect_contains "stderr shows the call and its outcome" "$ERR" "[tool fs__read_text_file] ok, 22 bytes"
sid=$("$PARLEY_BIN" sessions --json | jq -r '.[0].id')
"$PARLEY_BIN" sessions show "$sid" --json >"$T_DIR/sess.json"
expect_eq "stored: user, the call, the result (with its time), the answer" \
	'["user","assistant","tool","assistant"] "c1" true' \
	"$(jq -c '[.messages[].role], (.messages[2].tool_call_id), (.messages[2].total_ns > 0)' "$T_DIR/sess.json" | tr '\n' ' ' | sed 's/ $//')"

# resumed: the tool messages go out again, linked to their call
start_fake F2 ollama '{"models":[{"name":"qwen3:8b"}],"chat":{"tokens":["ok"]}}' || exit 1
run_parley --provider ollama --base-url "$F2_URL" -m qwen3:8b -s "$sid" "thanks"
expect_eq "a resumed session resends the call and its result" \
	'[{"role":"user"},{"role":"assistant","call":"c1"},{"role":"tool","id":"c1"},{"role":"assistant"},{"role":"user"}]' \
	"$(last_chat "$F2_LOG" | jq -c '[.body.messages[]|{role}+(if .tool_calls then {call:.tool_calls[0].id} else {} end)+(if .tool_call_id then {id:.tool_call_id} else {} end)]')"

# the OpenAI shape, over Streamable HTTP: a real everything server adds
start_fake O openai '{"models":[{"name":"m"}],"chat":['"$(call s1 web__get-sum '{"a":2,"b":40}')"',{"tokens":["42"]}]}' || exit 1
run_parley --provider openai --base-url "$O_URL" -m m --mcp "$MCP" --tools web__get-sum --approve always --json "2+40?"
expect_eq "OpenAI backend, HTTP server: the sum came back" '0 [{"tool_call_id":"s1","role":"tool","content":"The sum of 2 and 40 is 42."}]' \
	"$RC $(jq -c 'select(.path=="/v1/chat/completions")|[.body.messages[]|select(.role=="tool")|{tool_call_id,role,content}]' "$O_LOG" | tail -n 1)"
expect_eq "--tools SERVER__TOOL offers that tool alone" '["web__get-sum"]' "$(last_chat "$O_LOG" | jq -c '[.body.tools[].function.name]')"
expect_eq "--json: tool_call and tool_result events, then done" '["tool_call","tool_result","token","done"]' \
	"$(jq -sc '[.[].type]' <<<"$OUT")"

# progress of a long call reaches the face
start_fake LR ollama '{"models":[{"name":"qwen3:8b"}],"chat":['"$(call l1 everything__trigger-long-running-operation '{"duration":1,"steps":3}')"',{"tokens":["finished"]}]}' || exit 1
run_parley --provider ollama --base-url "$LR_URL" -m qwen3:8b --mcp "$MCP" --tools everything --approve always --json "long"
expect_eq "progress notifications become tool_progress events, in order" '[[1,3],[2,3],[3,3]]' \
	"$(jq -sc '[.[]|select(.type=="tool_progress")|[.progress,.total]]' <<<"$OUT")"
start_fake LR2 ollama '{"models":[{"name":"qwen3:8b"}],"chat":['"$(call l2 everything__trigger-long-running-operation '{"duration":1,"steps":3}')"',{"tokens":["finished"]}]}' || exit 1
run_parley --provider ollama --base-url "$LR2_URL" -m qwen3:8b --mcp "$MCP" --tools everything --approve always "long"
expect_contains "and lines on stderr" "$ERR" "[tool everything__trigger-long-running-operation] 2/3"

# a Streamable HTTP server that restarts: the old session is gone, parley
# initialises again and the call goes through
start_fake RS ollama '{"models":[{"name":"qwen3:8b"}],"chat":[{"first_byte_delay_ms":4000,"tokens":[],"tool_calls":[{"id":"w1","name":"web__echo","arguments":{"message":"still here"}}]},{"tokens":["back"]}]}' || exit 1
mkdir -p "$T_DIR/rs-state"
XDG_STATE_HOME="$T_DIR/rs-state" "$PARLEY_BIN" --provider ollama --base-url "$RS_URL" -m qwen3:8b --mcp "$MCP" --tools web --approve always "restart" \
	>"$T_DIR/rs.out" 2>"$T_DIR/rs.err" &
RSP=$!
T_PIDS+=($RSP)
wait_for 20 grep -q '\[web\] ready' "$T_DIR/rs-state/parley/mcp.log"
for p in "${T_PIDS[@]}"; do
	if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q streamableHttp; then kill "$p"; wait "$p" 2>/dev/null; fi
done
PORT=$HTTP_PORT node "$MCPDIR/server-everything/dist/index.js" streamableHttp >"$T_DIR/everything-http2.log" 2>&1 &
T_PIDS+=($!)
wait_for 20 curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/mcp"
wait "$RSP"
expect_eq "after the server restarted, the call went through a new session" "0 back" "$? $(cat "$T_DIR/rs.out")"
expect_eq "the model got the echo" '"Echo: still here"' "$(tool_msgs "$RS_LOG" | jq -c '.[0].content')"
check "the log says the session was started again" grep -q '\[web\] the server ended the session; initialising again' "$T_DIR/rs-state/parley/mcp.log"

# every way a tool can fail reaches the model as a result; the chat goes on
start_fake B ollama '{"models":[{"name":"qwen3:8b"}],"chat":[{"tokens":[],"tool_calls":[{"id":"e1","name":"bad__fail","arguments":{}},{"id":"e2","name":"bad__rpcfail","arguments":{}},{"id":"e3","name":"bad__hang","arguments":{}},{"id":"e4","name":"no__such","arguments":{}},{"id":"e5","name":"bad__huge","arguments":{}},{"id":"e6","name":"bad__ask","arguments":{}},{"id":"e7","name":"bad__die","arguments":{}},{"id":"e8","name":"bad__ok","arguments":{}}]},{"tokens":["done"]}]}' || exit 1
run_parley --provider ollama --base-url "$B_URL" -m qwen3:8b --mcp "$MCP" --tools bad --approve always "break things"
expect_eq "after eight failures of all kinds the model still answers" "0 done" "$RC $OUT"
tool_msgs "$B_LOG" | jq -c '.[]' >"$T_DIR/bad-results"
res() { sed -n "$1p" "$T_DIR/bad-results" | jq -r .content; }
expect_eq "isError: the tool's words" "Error: the disk is on fire" "$(res 1)"
expect_eq "a JSON-RPC error" "Error: internal trouble (code -32603)" "$(res 2)"
expect_eq "a hang: timed out" "Error: tools/call timed out after 2 s" "$(res 3)"
check "and the server was told it is cancelled" grep -q '"method":"notifications/cancelled","params":{"requestId":' "$T_DIR/bad.log"
expect_eq "a tool that does not exist" 'Error: there is no tool named "no__such"' "$(res 4)"
expect_contains "a 3 MiB result is cut to 256 KiB, saying so" "$(res 5 | tail -c 120)" "[... cut: the result had 3145728 bytes, the first 262144 are here]"
expect_eq "server requests answered: ping, roots/list (no roots), sampling refused" \
	'[{"method":"ping","answer":{}},{"method":"roots/list","answer":{"roots":[]}},{"method":"sampling/createMessage","answer":{"code":-32601,"message":"Method not found"}}]' \
	"$(res 6 | jq -c .)"
expect_contains "a server that dies mid-call: its exit, as the result" "$(res 7)" "exited with status 7"
expect_contains "the calls after it: its server is not running" "$(res 8)" "Error: the MCP server bad is not running"
"$PARLEY_BIN" sessions show "$("$PARLEY_BIN" sessions --json | jq -r '.[0].id')" --json >"$T_DIR/bad-sess.json"
expect_eq "stored errors say how each failed" '["tool error","internal trouble (code -32603)","tools/call timed out after 2 s","no such tool"]' \
	"$(jq -c '[.messages[]|select(.role=="tool")|.error][0:4]' "$T_DIR/bad-sess.json")"
expect_contains "stderr names the failures" "$ERR" "[tool bad__fail] tool error"

# approval
start_fake N ollama '{"models":[{"name":"qwen3:8b"}],"chat":['"$(call n1 fs__write_file '{"path":"'"$WORK"'/x","content":"y"}')"',{"tokens":["ok"]}]}' || exit 1
run_parley --provider ollama --base-url "$F_URL" -m qwen3:8b --mcp "$MCP" --tools fs "hi" </dev/null
setsid -w "$PARLEY_BIN" --provider ollama --base-url "$N_URL" -m qwen3:8b --mcp "$MCP" --tools fs "write" </dev/null >/dev/null 2>"$T_DIR/ask.err"
expect_eq "--approve=ask without a terminal: usage error" "2" "$?"
expect_contains "saying what to use instead" "$(cat "$T_DIR/ask.err")" "--approve=ask needs a terminal"
run_parley --provider ollama --base-url "$N_URL" -m qwen3:8b --mcp "$MCP" --tools fs --approve never "write"
expect_eq "--approve=never: nothing runs, the model is told, the chat goes on" "0 ok" "$RC $OUT"
check "the file was not written" test ! -e "$WORK/x"
expect_eq "what the model was told" '"Error: the user does not allow tools to run here"' "$(tool_msgs "$N_LOG" | jq -c '.[0].content')"
run_parley --provider ollama --base-url "$N_URL" -m qwen3:8b --mcp "$MCP" --tools all --approve sometimes "x"
expect_eq "--approve with a bad value: usage error" "2" "$RC"

# the round limit
start_fake R ollama '{"models":[{"name":"qwen3:8b"}],"chat":'"$(call r1 everything__echo '{"message":"again"}')"'}' || exit 1
run_parley --provider ollama --base-url "$R_URL" -m qwen3:8b --mcp "$MCP" --tools everything --approve always --tool-rounds 3 "loop"
expect_eq "a model that calls for ever stops after --tool-rounds" "1 4" "$RC $(jq -r .path "$R_LOG" | grep -c /api/chat)"
expect_contains "saying why" "$ERR" "limit of 3 tool rounds"
expect_eq "the calls of the round not run still have results" '"Error: not run: stopped: this turn reached its limit of 3 tool rounds (--tool-rounds)"' \
	"$("$PARLEY_BIN" sessions show "$("$PARLEY_BIN" sessions --json | jq -r '.[0].id')" --json | jq -c '[.messages[]|select(.role=="tool")][-1].content')"

# a server whose tool list changes mid-session
start_fake G ollama '{"models":[{"name":"qwen3:8b"}],"chat":['"$(call g1 bad__grow '{}')"','"$(call g2 bad__grown '{}')"',{"tokens":["grown"]}]}' || exit 1
run_parley --provider ollama --base-url "$G_URL" -m qwen3:8b --mcp "$MCP" --tools bad --approve always "grow"
expect_eq "tools/list_changed: the new tool is offered on the next request" "0 grown" "$RC $OUT"
expect_eq "offered: 8 tools, then 9" "8 9 9" "$(jq -r 'select(.path=="/api/chat")|.body.tools|length' "$G_LOG" | tr '\n' ' ' | sed 's/ $//')"

# --- parley serve --tools: the listener runs its own tools ------------------
start_fake SV ollama '{"models":[{"name":"qwen3:8b"}],"chat":['"$(call v1 fs__read_text_file '{"path":"'"$WORK"'/notes.txt"}')"',{"tokens":["4711, ","it says."]},'"$(call v2 fs__read_text_file '{"path":"'"$WORK"'/notes.txt"}')"',{"tokens":["streamed ","4711"]}]}' || exit 1
"$PARLEY_BIN" --provider ollama --base-url "$SV_URL" --mcp "$MCP" --tools fs serve --listen 127.0.0.1:0 >/dev/null 2>"$T_DIR/serve-ask.err"
expect_eq "serve --tools without --approve: usage error" "2" "$?"
expect_contains "saying nobody is there to ask" "$(cat "$T_DIR/serve-ask.err")" "with nobody to ask: add --approve always"
start_serve SVS --provider ollama --base-url "$SV_URL" --mcp "$MCP" --tools fs --approve always --listen 127.0.0.1:0 || exit 1
expect_contains "serve says what it offers" "$(cat "$SVS_ERR")" "offering 14 MCP tools to clients that send none"
code=$(curl -s -m 30 -o "$T_DIR/sv.json" -w '%{http_code}' -H 'Content-Type: application/json' \
	-d '{"model":"qwen3:8b","messages":[{"role":"user","content":"the code?"}]}' "$SVS_URL/v1/chat/completions")
expect_eq "a client that sent no tools gets the answer made with the listener's" '200 "4711, it says." "stop" false' \
	"$code $(jq -c '.choices[0].message.content, .choices[0].finish_reason, (.choices[0].message|has("tool_calls"))' "$T_DIR/sv.json" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the backend got the result as a tool message" '"the door code is 4711\n"' "$(tool_msgs "$SV_LOG" | jq -c '.[0].content')"
curl -s -m 30 -N -H 'Content-Type: application/json' \
	-d '{"model":"qwen3:8b","stream":true,"messages":[{"role":"user","content":"again, streamed"}]}' "$SVS_URL/v1/chat/completions" >"$T_DIR/sv.sse"
expect_eq "streamed: the final answer, no tool call chunks, [DONE]" "streamed 4711|0|1" \
	"$(grep '^data: {' "$T_DIR/sv.sse" | sed 's/^data: //' | jq -rj '.choices[0].delta.content // empty')|$(grep -c tool_calls "$T_DIR/sv.sse")|$(grep -c '^data: \[DONE\]' "$T_DIR/sv.sse")"

# --- the REPL asks ------------------------------------------------------------
start_fake Q ollama '{"models":[{"name":"qwen3:8b"}],"chat":['"$(call q1 fs__read_text_file '{"path":"'"$WORK"'/notes.txt"}')"',{"tokens":["4711"]},'"$(call q2 fs__write_file '{"path":"'"$WORK"'/y","content":"z"}')"',{"tokens":["not written"]},{"tokens":["no tools now"]}]}' || exit 1
printf 'the code?\ny\nwrite it down\nn\n/tools\n/tools off fs\nand now?\n/tools off nothing\n' |
	"$PARLEY_BIN" --repl --provider ollama --base-url "$Q_URL" -m qwen3:8b --mcp "$MCP" --tools fs >"$T_DIR/repl.out" 2>&1
expect_eq "REPL: exits 0" "0" "$?"
REPL=$(cat "$T_DIR/repl.out")
expect_contains "REPL: the call is shown with its hints and arguments before it runs" "$REPL" \
	"run fs__read_text_file [read-only]"
expect_contains "REPL: the question" "$REPL" "allow? [y]es, [n]o, [a]lways this tool, always this [s]erver, [q]uit:"
expect_contains "REPL: y ran it, and the model answered from it" "$REPL" "4711"
expect_contains "REPL: n declined the write" "$REPL" "[tool fs__write_file] declined"
check "REPL: the declined write did not happen" test ! -e "$WORK/y"
expect_contains "REPL: /tools lists each tool with its state" "$REPL" "on  fs__write_file [destructive, idempotent]"
expect_contains "REPL: /tools off SERVER" "$REPL" "14 tools off"
expect_eq "REPL: after /tools off, no tools are offered" "14 14 14 14 0" \
	"$(jq -r 'select(.path=="/api/chat")|.body.tools|length' "$Q_LOG" | tr '\n' ' ' | sed 's/ $//')"
expect_contains "REPL: /tools off with a name that matches nothing" "$REPL" "no tool or server is called nothing"

# /tools choices belong to the session: resumed, they hold; a new one starts with all
printf 'still off?\n/tools\n' |
	"$PARLEY_BIN" --repl --provider ollama --base-url "$Q_URL" -m qwen3:8b --mcp "$MCP" --tools fs -c >"$T_DIR/repl2.out" 2>&1
expect_eq "a resumed session keeps its tools off" "0" "$(last_chat "$Q_LOG" | jq '.body.tools | length')"
expect_contains "and /tools shows them off" "$(cat "$T_DIR/repl2.out")" "off fs__write_file"
printf 'fresh start\n' |
	"$PARLEY_BIN" --repl --provider ollama --base-url "$Q_URL" -m qwen3:8b --mcp "$MCP" --tools fs --new >/dev/null 2>&1
expect_eq "a new session is offered every tool again" "14" "$(last_chat "$Q_LOG" | jq '.body.tools | length')"
sid=$("$PARLEY_BIN" sessions list --json | jq -r '[.[] | select(.title == "the code?")][0].id')
run_parley sessions export "$sid" --format json
expect_eq "the choices go with an export" "14" "$(jq '.session.tools_off | length' <<<"$OUT")"

check "no sanitizer report" test -z "$(grep -E 'Sanitizer|runtime error' <<<"$ERR")"
done_testing
