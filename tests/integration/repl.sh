#!/bin/bash
# The line-mode REPL through the real binary in tmux (private socket, fixed
# size), against the backend double: a prompt and its streamed answer, a
# """ block sent as one message, Tab completion, /model and /set reaching
# the request, one-line errors, history recalled after a restart, and
# Ctrl-C stopping a reply (kept, marked interrupted) or clearing the line.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/repl_lib.sh"

# The last line on the screen that is not empty.
last_line() { screen "$1" | grep -v '^$' | tail -n 1; }
is_prompt() { [ "$(last_line "$1")" == ">>> " ]; }
# expect_prompt NAME SESSION: an empty prompt is the last line.
expect_prompt() {
	if wait_for 5 is_prompt "$2"; then
		ok "$1"
	else
		not_ok "$1" "the last line is not an empty prompt:" "$(last_line "$2")"
	fi
}
last_req() { last_chat "$F_LOG" | jq -c "$1"; }
# How many chat requests the double has seen.
chats() { grep -c '"/api/chat"' "$1" 2>/dev/null || echo 0; }
has_chats() { [ "$(chats "$1")" -ge "$2" ]; }
wait_chats() { wait_for 5 has_chats "$1" "$2"; }

MODELS='[{"name":"llama3.2:latest"},{"name":"qwen3:8b"}]'
start_fake F ollama '{"models":'"$MODELS"',"chat":[{"thinking":["Weighing ","it."],"tokens":["The sky ","is blue."]},{"echo":true}]}'
URL="$F_URL"

# --- a prompt and its answer ------------------------------------------------
start_repl a --provider ollama --base-url "$URL" -m llama3.2
expect_screen "banner names the model and says how to get help" a "llama3.2 · ollama at $URL"
expect_screen "a prompt" a ">>> "
keys a "why is the sky blue?" Enter
expect_screen "the answer streams in" a "The sky is blue."
expect_screen "thinking shown apart in a gutter" a "│ Weighing it."
expect_eq "the prompt went to the backend" '"why is the sky blue?"' "$(last_req '.body.messages[-1].content')"

# --- a """ block is one message -----------------------------------------------
keys a '"""' Enter
expect_screen "a block asks for more" a "... "
keys a "line one" Enter
keys a "  line two" Enter
keys a 'done"""' Enter
expect_screen "the block's answer" a "echo: line one"
wait_chats "$F_LOG" 2
expect_eq "the block arrives as one message with its newlines" '"line one\n  line two\ndone"' \
	"$(last_req '.body.messages[-1].content')"
expect_eq "the earlier exchange goes with it" '"The sky is blue."' "$(last_req '.body.messages[-2].content')"

# --- a bracketed paste with newlines is one message, sent with Enter ------------
TM set-buffer -b para "$(printf 'para one\npara two')"
TM paste-buffer -p -d -b para -t a
expect_screen "the paste waits in the line" a "para two"
keys a Enter
expect_screen "the pasted answer" a "echo: para one"
expect_eq "the paste arrives as one message" '"para one\npara two"' "$(last_req '.body.messages[-1].content')"

# --- /set verbose prints statistics ------------------------------------------------
keys a "/set verbose" Enter
keys a "stats please" Enter
expect_screen "statistics after the reply" a "prompt 14 tokens, reply"
keys a "/set quiet" Enter
expect_screen "/set quiet" a "no statistics after replies"

# --- Tab completion and /model -------------------------------------------------
keys a "/mo" Tab
expect_screen "Tab completes /mo to the shared prefix /model" a ">>> /model"
keys a Tab
expect_screen "a second Tab lists the candidates" a "/models"
keys a " q" Tab
expect_screen "Tab completes a model name" a ">>> /model qwen3:8b"
keys a Enter
expect_screen "/model says what it did" a "model set to qwen3:8b"
keys a "which model now" Enter
expect_screen "answer after /model" a "echo: which model now"
expect_eq "/model switches the model sent" '"qwen3:8b"' "$(last_req '.body.model')"

# --- /set reaches the request ---------------------------------------------------
keys a "/set temperature 0.2" Enter
expect_screen "/set answers" a "set temperature = 0.2"
keys a "warmer" Enter
expect_screen "answer after /set" a "echo: warmer"
expect_eq "the option is in the request" '0.2' "$(last_req '.body.options.temperature')"

# --- errors are one line and the REPL goes on -------------------------------------
keys a "/modle" Enter
expect_screen "an unknown command suggests the closest" a "error: unknown command /modle; did you mean /model?"
n_before=$(chats "$F_LOG")
keys a "/model nosuch" Enter
expect_screen "/model takes any name" a "model set to nosuch"
keys a "hello?" Enter
expect_screen "a missing model is an error line" a "error: model 'nosuch' not found"
expect_prompt "after the error, a prompt" a
keys a "/model llama3.2" Enter
keys a "still here" Enter
expect_screen "the REPL goes on after errors" a "echo: still here"
expect_eq "the unknown command sent nothing" "$((n_before + 2))" "$(chats "$F_LOG")"
keys a "/quit" Enter
expect_screen "/quit leaves with status 0" a "[exit 0]"
expect_contains "the history file is libedit's" "$(head -n 1 "$XDG_DATA_HOME/parley/history")" "_HiStOrY_V2_"
expect_eq "sanitizers quiet" "" "$(cat "$T_DIR/a.stderr")"

# --- history survives a restart; Ctrl-C at the prompt; Ctrl-C in a reply ------------
start_fake G ollama '{"models":'"$MODELS"',"chat":[{"tokens":["one ","two ","three ","four "],"repeat":200,"delay_ms":40},{"echo":true}]}'
start_repl b --provider ollama --base-url "$G_URL" -m llama3.2 -c
expect_screen "-c resumes the latest session" b "messages) · /help"
keys b Up
expect_screen "Up recalls the last line of the earlier run" b ">>> /quit"
keys b Up
expect_screen "and the one before" b ">>> still here"
keys b C-c
expect_screen "Ctrl-C at the prompt drops the line" b ">>> still here^C"
expect_prompt "and gives a fresh prompt" b
keys b "count for me" Enter
expect_screen "a slow reply streams" b "one two three four one"
keys b C-c
expect_screen "Ctrl-C stops it, marked" b "[interrupted]"
expect_prompt "and gives a prompt" b
keys b "next prompt" Enter
expect_screen "another prompt works after Ctrl-C" b "echo: next prompt"
keys b C-d
expect_screen "Ctrl-D on an empty line leaves" b "[exit 0]"
expect_eq "sanitizers quiet" "" "$(cat "$T_DIR/b.stderr")"

sid=$("$PARLEY_BIN" sessions list --json | jq -r '.[0].id')
msgs=$("$PARLEY_BIN" sessions show "$sid" --json)
expect_eq "the stopped reply is stored, interrupted" '"interrupted"' \
	"$(jq -c '[.messages[] | select(.role == "assistant")][-2].state' <<<"$msgs")"
expect_contains "with what had arrived" "$(jq -r '[.messages[] | select(.role == "assistant")][-2].content' <<<"$msgs")" "one two three"
expect_eq "the session is the resumed one, origin repl" '"repl"' "$(jq -c '.session.origin' <<<"$msgs")"
expect_eq "the next request carries the earlier turn" \
	'"count for me"' "$(last_chat "$G_LOG" | jq -c '.body.messages[-3].content')"

# --- vi keys from ~/.editrc -----------------------------------------------------------
echo "bind -v" >"$HOME/.editrc"
start_repl c --provider ollama --base-url "$G_URL" -m llama3.2 --no-save
expect_screen "a prompt with vi keys" c ">>> "
keys c "hello wrold"
expect_screen "typed in insert mode" c ">>> hello wrold"
keys c Escape
keys c "bcw"
keys c "world" Escape
expect_screen "ESC reaches command mode: cw changed the word" c ">>> hello world"
keys c Enter
expect_screen "and the edited line is sent" c "echo: hello world"
keys c "/quit" Enter
expect_screen "vi session leaves" c "[exit 0]"
rm -f "$HOME/.editrc"

# --- --listen beside the REPL: one loop serves both ----------------------------------
LPORT=$(free_port)
start_repl d --provider ollama --base-url "$G_URL" -m llama3.2 --listen "127.0.0.1:$LPORT"
expect_screen "--listen says where it listens" d "listener on http://127.0.0.1:$LPORT"
reply=$(curl -s -m 20 "http://127.0.0.1:$LPORT/v1/chat/completions" -H 'content-type: application/json' \
	-d '{"model":"llama3.2","messages":[{"role":"user","content":"through the repl"}]}' | jq -r '.choices[0].message.content')
expect_contains "the listener answers while the prompt waits" "$reply" "through the repl"
keys d "still here" Enter
expect_screen "the prompt still works" d "echo: still here"
keys d "/quit" Enter
expect_screen "the REPL with a listener leaves" d "[exit 0]"

# --- /show and /rm: commands that wait on the backend or on an answer ------------
start_repl e --provider ollama --base-url "$F_URL" -m llama3.2
expect_screen "a prompt for the model commands" e ">>> "
keys e "/show" Enter
expect_screen "/show prints the model's details" e "architecture       llama"
expect_prompt "the prompt comes back after /show" e
keys e "/rm qwen3:8b" Enter
expect_screen "/rm asks first" e "delete the model 'qwen3:8b' from $F_URL? [y/N]"
keys e "n" Enter
expect_screen "no keeps it" e "not deleted"
expect_eq "nothing was deleted" 0 "$(grep -c '"/api/delete"' "$F_LOG")"
keys e "/rm qwen3:8b" Enter
wait_screen e "[y/N]" 5
keys e "y" Enter
expect_screen "yes deletes it" e "deleted 'qwen3:8b'"
expect_eq "the backend got the delete" '{"model":"qwen3:8b"}' "$(grep '"/api/delete"' "$F_LOG" | tail -1 | jq -c '.body | {model: (.model // .name)}')"
expect_prompt "the prompt comes back after /rm" e
# /attach: a text file and an image, read as -f and -i read them
printf 'the door code is 4711\n' >"$HOME/notes.txt"
printf '\x89PNG\r\n\x1a\n\0\0' >"$HOME/pic.png"
keys e "/attach ~/notes.txt" Enter
expect_screen "/attach a text file" e "~/notes.txt goes with the next message"
keys e "/attach ~/pic.png" Enter
expect_screen "/attach an image" e "image ~/pic.png goes with the next message"
keys e "/attach ~/missing.txt" Enter
expect_screen "/attach a file that is not there says so" e "missing.txt"
n=$(chats "$F_LOG")
keys e "what is the code?" Enter
wait_chats "$F_LOG" $((n + 1))
expect_contains "the file goes in the message, framed" "$(last_req '.body.messages[-1].content')" \
	"--- ~/notes.txt ---\nthe door code is 4711\n--- end of ~/notes.txt ---"
expect_eq "the image goes beside it, base64" '["iVBORw0KGgoAAA=="]' "$(last_req '.body.messages[-1].images')"
expect_prompt "the prompt after the attachments" e
keys e "/quit" Enter
expect_screen "the REPL leaves after the model commands" e "[exit 0]"

done_testing
