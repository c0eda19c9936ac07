#!/bin/bash
# The full-screen face, driven through tmux: a private server socket, a
# fixed-size window, keys in with send-keys, the screen out with
# capture-pane. Every wait has a deadline. The backend is fakellm.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/tui_lib.sh"

last_model() { jq -r 'select(.path=="/api/chat") | .body.model' "$F_LOG" | tail -1; }

MODELS='[{"name":"llama3.2:latest","parameter_size":"3.2B"},{"name":"qwen3:8b","parameter_size":"8.2B","quantization_level":"Q5_K_M","loaded":false}]'
start_fake F ollama '{"models":'"$MODELS"',"chat":[
 {"tokens":["# Greeting\n\n","Hello **there**, ","friend.\n\n","```sh\n","echo hi\n","```\n\n","- 中文字符 and 😀\n"],"delay_ms":20},
 {"tokens":["slow "],"repeat":2000,"delay_ms":40},
 {"echo":true}]}' || exit 1
OPTS="--provider ollama --base-url $F_URL"

# 1. a prompt streams its answer, Markdown rendered, wide characters kept
start_tui "$OPTS -m llama3.2"
expect_screen "the screen starts with the model in the bar" "llama3.2"
keys "say hello" Enter
expect_screen "the reply streams in" "friend."
expect_screen "a code block is numbered" "[1] sh"
expect_screen "CJK and emoji survive wrapping" "中文字符 and 😀"
expect_screen "the status line shows the reply's statistics" "tok/s"
if screen | grep -q '\*\*there\*\*'; then not_ok "bold markers are rendered, not shown" "$(screen)"; else ok "bold markers are rendered, not shown"; fi

# 2. Esc stops a slow reply and keeps the partial text
keys "go slowly" Enter
expect_screen "the slow reply starts" "slow slow"
keys Escape
expect_screen "Esc marks the reply interrupted" "interrupted"
expect_screen "the partial text stays" "slow slow"
sleep_until=$(($(date +%s) + 1))
# the reply no longer grows (a deadline, not a blind sleep: compare twice)
a=$(screen)
wait_for 2 test "$(date +%s)" -ge "$sleep_until"
b=$(screen)
expect_eq "nothing streams after Esc" "$a" "$b"

# 3. the picker's filter and selection change the model actually sent
keys C-p
expect_screen "the picker lists the models" "qwen3:8b"
keys q w e n
expect_screen "the filter narrows the list" "filter: qwen"
if screen | grep -q "llama3.2:latest"; then not_ok "the filter hides other models" "$(screen)"; else ok "the filter hides other models"; fi
keys Enter
expect_screen "the bar shows the chosen model" "│ qwen3:8b │"
keys "which model" Enter
expect_screen "the echo reply arrives" "echo: which model"
expect_eq "the chosen model is the one sent" "qwen3:8b" "$(last_model)"

# 4. help overlay from the key table and the command table
keys F1
expect_screen "F1 shows the keys" "Keys (change them"
expect_screen "help lists the slash commands" "/retry"
keys Escape
wait_for 5 bash -c "! tmux -L $SOCK capture-pane -p -t tui | grep -qF 'Keys (change them'"
check "Esc closes help" test $? -eq 0

# 5. theme switch, live
keys "/theme mono" Enter
expect_screen "/theme switches the theme" "theme: mono"
keys "/theme no-such-theme" Enter
expect_screen "an unknown theme is an error, not a crash" "no theme 'no-such-theme'"
keys Escape

# 6. resize reflows and keeps the transcript
tm resize-window -t tui -x 70 -y 24
expect_screen "after a resize the transcript is still there" "echo: which model"
tm resize-window -t tui -x 120 -y 40
expect_screen "growing again redraws it" "echo: which model"

# 7. copy the last reply through OSC 52 (tmux keeps it as a buffer)
keys C-y
expect_screen "Ctrl-Y copies the last reply" "copied the last reply"
if wait_for 5 bash -c "tmux -L $SOCK show-buffer 2>/dev/null | grep -qF 'echo: which model'"; then
	ok "the clipboard holds the reply"
else
	not_ok "the clipboard holds the reply" "$(tm show-buffer 2>&1)"
fi
end_tui "Ctrl-D on empty input quits cleanly"

# 8. sessions: a pipe run's session shows up live and opens
start_tui "$OPTS -m llama3.2"
expect_screen "a second screen starts" "llama3.2"
keys C-o
expect_screen "the sessions overlay lists earlier sessions" "say hello"
"$PARLEY_BIN" $OPTS -m llama3.2 "written by a pipe run" </dev/null >/dev/null 2>&1
expect_screen "a session written by another process appears live" "written by a pipe run"
keys w r i t t e n
expect_screen "the sessions filter narrows the list" "filter: written"
keys Enter
expect_screen "Enter opens the session" "▌ You"
expect_screen "its messages are shown" "echo: written by a pipe run"
keys C-c
expect_screen "Ctrl-C when idle asks once more" "press Ctrl-C again"
keys C-c
if wait_for 10 pane_dead && ! grep -qE 'Sanitizer|runtime error' "$ERRF"; then ok "a second Ctrl-C quits"; else not_ok "a second Ctrl-C quits" "$(cat "$ERRF")"; fi

# 9. the pull view reaches success and the model list refreshes
start_fake P ollama '{"models":[{"name":"llama3.2:latest"}],"pull":{"steps":3,"delay_ms":10}}' || exit 1
start_tui "--provider ollama --base-url $P_URL -m llama3.2"
expect_screen "a screen for the pull starts" "llama3.2"
keys "/pull tinyllama" Enter
expect_screen "the pull view shows layer progress" "100%"
expect_screen "the pull reaches success" "success: the model is ready" 20
keys Escape
wait_for 5 bash -c "! tmux -L $SOCK capture-pane -p -t tui | grep -qF 'Esc or Enter closes'"
keys C-p
expect_screen "the pulled model is in the picker" "tinyllama:latest"
keys Escape
wait_for 5 bash -c "! tmux -L $SOCK capture-pane -p -t tui | grep -qF 'filter:'"
# /show and /rm go on from their callbacks: the screen keeps running
keys "/show" Enter
expect_screen "/show prints the model's details" "architecture       llama"
keys "/rm tinyllama:latest" Enter
expect_screen "/rm asks on the message line" "delete the model 'tinyllama:latest' from $P_URL? [y/n]"
keys n
expect_screen "n keeps it" "not deleted"
keys "/rm tinyllama:latest" Enter
wait_screen "[y/n]" 5
keys y
expect_screen "y deletes it" "deleted 'tinyllama:latest'"
expect_eq "the backend got one delete" 1 "$(grep -c '"/api/delete"' "$P_LOG")"
# /attach: the same reading as the REPL's and -f/-i
printf 'the door code is 4711\n' >"$HOME/notes.txt"
printf '\x89PNG\r\n\x1a\n\0\0' >"$HOME/pic.png"
keys "/attach ~/notes.txt" Enter
expect_screen "/attach a text file" "attached ~/notes.txt to the next message"
keys "/attach ~/pic.png" Enter
expect_screen "/attach an image" "attached image ~/pic.png to the next message"
keys "/attach ~/nothing.txt" Enter
expect_screen "/attach a missing file says so" "nothing.txt"
keys "what is the code?" Enter
sent() { [ "$(last_chat "$P_LOG" | jq -r '.body.messages[-1].images[0] // empty')" = "iVBORw0KGgoAAA==" ]; }
check "the image went with the message" wait_for 10 sent
expect_contains "the file went in the message, framed" "$(last_chat "$P_LOG" | jq -r '.body.messages[-1].content')" \
	"--- ~/notes.txt ---"
end_tui "quit after the pull"

# 10. no backend: the screen still starts and says how to fix it
PORT=$(free_port)
start_tui "--provider ollama --base-url http://127.0.0.1:$PORT -m llama3.2"
expect_screen "without a backend the screen still starts" "Cannot reach the backend"
expect_screen "it says where it looked" "127.0.0.1:$PORT"
expect_screen "the bar says offline" "offline"
keys "hello?" Enter
expect_screen "sending offline gives the text back" "› hello?"
end_tui "quit from the offline screen"

# A backend slow to answer its first request: a message sent meanwhile is
# held, then goes out as soon as the backend is known.
start_fake SLOW ollama '{"models":[{"name":"llama3.2:latest"}],"version_delay_ms":3000,"chat":{"echo":true}}' || exit 1
start_tui "--provider ollama --base-url $SLOW_URL -m llama3.2"
expect_screen "a slow backend: the screen is up before it answers" "connecting"
keys "early bird" Enter
expect_screen "the message is held while connecting" "waiting for the backend to answer"
expect_screen "it goes out once the backend answers" "echo: early bird" 20
expect_eq "the backend got it once" 1 "$(jq -r 'select(.path=="/api/chat") | .body.messages[-1].content' "$SLOW_LOG" | grep -c 'early bird')"
end_tui "quit after the held message"

# A backend that accepts but never answers: the first frame is up at once,
# the bar says it is still connecting, typing works, sending waits, and
# quitting is immediate.
MUTE="$T_DIR/mute"
if cc -O2 -Wall -Wextra -o "$MUTE" "$TESTS_DIR/tools/mute.c" 2>"$T_DIR/mute.log"; then
	"$MUTE" "$T_DIR/mute.port" &
	MUTE_PID=$!
	if wait_for 10 test -s "$T_DIR/mute.port"; then
		start_tui "--provider ollama --base-url http://127.0.0.1:$(cat "$T_DIR/mute.port") -m llama3.2"
		expect_screen "a silent backend: the screen is up" "F1 help"
		expect_screen "the bar says it is still connecting" "connecting"
		keys "typed while connecting"
		expect_screen "the input takes keys while connecting" "typed while connecting"
		keys Enter
		expect_screen "sending waits for the backend" "waiting for the backend to answer"
		expect_screen "the text stays in the input" "› typed while connecting"
		end_tui "quit while the backend has not answered"
	else
		not_ok "the silent server started" "$(cat "$T_DIR/mute.log")"
	fi
	kill "$MUTE_PID" 2>/dev/null
	wait "$MUTE_PID" 2>/dev/null
else
	not_ok "build the silent server" "$(cat "$T_DIR/mute.log")"
fi

# 11. a multi-line bracketed paste does not send by itself
start_tui "$OPTS -m llama3.2"
expect_screen "a screen for pasting starts" "llama3.2"
printf 'first pasted line\nsecond pasted line' | tm load-buffer -
tm paste-buffer -p -t tui
expect_screen "the paste lands in the input" "second pasted line"
n_before=$(jq -r 'select(.path=="/api/chat")' "$F_LOG" | grep -c '"path"')
if screen | grep -q '▌ You'; then not_ok "the paste did not send" "$(screen)"; else ok "the paste did not send"; fi
keys Enter
expect_screen "Enter sends the pasted text" "echo: first pasted line"
expect_eq "the pasted newline reached the model" "first pasted line
second pasted line" "$(jq -r 'select(.path=="/api/chat") | .body.messages[-1].content' "$F_LOG" | tail -2)"
end_tui "quit after the paste"
: "$n_before"

# 12. a reply streamed a few bytes at a time ends on the screen a full
# layout gives: resizing away and back lays it out again from the start,
# and the screen must come back the same (the unit tests compare styles)
REPLY='## Streaming check

Some *emphasis that
runs over* two lines, **bold**, and `code`. A long line that the screen has to wrap, with words and more words to fill it up.

- one
- two

  more of two

> a quote
> over lines

| a | b |
|---|---|
| 1 | 2 |

```sh
echo one

echo two
```

1. first
2. second

Done.'
PIECES=$(printf '%s' "$REPLY" | jq -Rs '[. as $s | range(0; $s | length; 3) | $s[.:. + 3]]')
start_fake S ollama '{"models":[{"name":"llama3.2:latest"}],"chat":[{"tokens":'"$PIECES"',"delay_ms":3}]}' || exit 1
start_tui "--provider ollama --base-url $S_URL -m llama3.2"
expect_screen "a screen for the streaming check starts" "llama3.2"
keys "show me" Enter
reply_done() { screen_has "Done." && ! screen | tail -n 1 | grep -q "Esc stops"; }
check "the reply streams to its end" wait_for 10 reply_done
streamed=$(screen)
tm resize-window -t tui -x 90 -y 40
narrow() { ! screen | grep -q '.\{100\}'; }
check "the narrower screen is laid out" wait_for 10 narrow
tm resize-window -t tui -x 120 -y 40
same_again() { [ "$(screen)" == "$streamed" ]; }
if wait_for 10 same_again; then
	ok "the streamed layout is the full layout"
else
	not_ok "the streamed layout is the full layout" "streamed:" "$streamed" "laid out again:" "$(screen)"
fi
end_tui "quit after the streaming check"

# --listen: the listener runs in the TUI's process; its conversations show
# up in the sessions overlay as they happen.
LPORT=$(free_port)
start_tui "$OPTS -m llama3.2 --listen 127.0.0.1:$LPORT"
expect_screen "--listen says where it listens" "listener on http://127.0.0.1:$LPORT"
keys C-o
expect_screen "the sessions overlay opens" "Sessions"
reply=$(curl -s -m 20 "http://127.0.0.1:$LPORT/v1/chat/completions" -H 'content-type: application/json' \
	-d '{"model":"llama3.2","messages":[{"role":"user","content":"over the wire"}]}' | jq -r '.choices[0].message.content')
expect_contains "the listener answers beside the TUI" "$reply" "over the wire"
expect_screen "its session appears live" "over the wire"
keys Escape
overlay_gone() { ! screen_has "filter:"; }
check "Esc closes the overlay" wait_for 10 overlay_gone
end_tui "quit with the listener running"

# A reply streamed through the TUI's own listener into the session on the
# screen is drawn as it grows, not only once it is over.
start_fake PACED ollama '{"models":'"$MODELS"',"chat":[{"echo":true},{"tokens":["w1 ","w2 ","w3 ","w4 ","w5 ","w6 ","w7 ","w8 ","w9 ","w10 ","w11 ","w12 ","w13 ","w14 ","w15 ","w16 ","w17 ","w18 ","w19 ","w20 ","w21 ","w22 ","w23 ","w24 ","w25 ","w26 ","w27 ","w28 ","w29 ","w30 ","wEND"],"delay_ms":150},{"tokens":["all ","done."]}]}' || exit 1
"$PARLEY_BIN" --provider ollama --base-url "$PACED_URL" -m llama3.2 -s "Paced" "opening" >/dev/null 2>&1
psid=$("$PARLEY_BIN" sessions list --json | jq -r '.[] | select(.title == "Paced") | .id')
LPORT=$(free_port)
start_tui "--provider ollama --base-url $PACED_URL -m llama3.2 -s $psid --listen 127.0.0.1:$LPORT"
expect_screen "the TUI shows the session" "echo: opening"
# the listener starts once the backend has answered, maybe after the screen
listening() { curl -s -o /dev/null "http://127.0.0.1:$LPORT/health"; }
check "the listener beside the TUI answers" wait_for 10 listening
curl -s -m 30 -N "http://127.0.0.1:$LPORT/v1/chat/completions" -H 'content-type: application/json' -H "X-Session-Id: $psid" \
	-d '{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"paced please"}]}' >"$T_DIR/paced.sse" &
curl_pid=$!
T_PIDS+=("$curl_pid")
streaming() { kill -0 "$curl_pid" 2>/dev/null; }
expect_screen "the listener's turn shows at once" "paced please"
early() { screen_has "w3" && ! screen_has "wEND"; }
check "its first words show while it streams" wait_for 10 early
middle() { screen_has "w12" && ! screen_has "wEND" && streaming; }
check "and later words, frame by frame, before it ends" wait_for 10 middle
expect_screen "the end of the reply shows" "wEND" 15
wait "$curl_pid"
check "the client got the whole stream" grep -q '"wEND"' "$T_DIR/paced.sse"
keys "after" Enter
expect_screen "the TUI goes on from the stored reply" "all done."
check "the next turn sent the listener's reply as history" \
	test "$(last_chat "$PACED_LOG" | jq -r '.body.messages[-2].content')" = "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w20 w21 w22 w23 w24 w25 w26 w27 w28 w29 w30 wEND"
end_tui "quit after a reply streamed through the listener"

# MCP tools: the call is shown whole and asked about; y runs it, n declines
MCPDIR="$TESTS_DIR/node/node_modules/@modelcontextprotocol"
if [ -f "$MCPDIR/server-filesystem/package.json" ]; then
	mkdir -p "$T_DIR/tw"
	printf 'the wifi password is hunter2\n' >"$T_DIR/tw/wifi.txt"
	printf '{"mcpServers":{"fs":{"command":"node","args":["%s","%s"]}}}\n' "$MCPDIR/server-filesystem/dist/index.js" "$T_DIR/tw" >"$T_DIR/tui-mcp.json"
	start_fake TT ollama '{"models":[{"name":"qwen3:8b"}],"chat":[{"tokens":[],"tool_calls":[{"id":"t1","name":"fs__read_text_file","arguments":{"path":"'"$T_DIR/tw/wifi.txt"'"}}]},{"tokens":["It is ","hunter2."]},{"tokens":[],"tool_calls":[{"id":"t2","name":"fs__write_file","arguments":{"path":"'"$T_DIR/tw/new.txt"'","content":"x"}}]},{"tokens":["Not written."]}]}' || exit 1
	start_tui "--provider ollama --base-url $TT_URL -m qwen3:8b --mcp $T_DIR/tui-mcp.json --tools fs"
	expect_screen "tools: the TUI says how many it offers" "14 MCP tools offered" 20
	keys "the wifi password?" Enter
	expect_screen "tools: the call is shown with its hints" "wants to run fs__read_text_file [read-only]"
	expect_screen "tools: and its arguments" "wifi.txt"
	expect_screen "tools: the question" "run fs__read_text_file?  [y]es [n]o [a]lways this tool"
	keys y
	expect_screen "tools: y runs it and the model answers from it" "It is hunter2."
	keys "write a file" Enter
	expect_screen "tools: a write is asked about, marked destructive" "[destructive, idempotent]"
	keys n
	expect_screen "tools: n declines, the model is told and answers" "Not written."
	check "tools: the declined write did not happen" test ! -e "$T_DIR/tw/new.txt"
	keys "/tools" Enter
	expect_screen "tools: /tools lists them" "on  fs__write_file [destructive, idempotent]"
	end_tui "quit after tool calls"
	expect_eq "tools: the result went back to the model as a tool message" '"the wifi password is hunter2\n"' \
		"$(jq -c 'select(.path=="/api/chat")|[.body.messages[]|select(.role=="tool")][0].content' "$TT_LOG" | sed -n 2p)"
else
	not_ok "the MCP servers are installed" "run make deps"
fi

done_testing
