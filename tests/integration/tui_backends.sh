#!/bin/bash
# Several backends in the full-screen face: the bar shows each backend with
# its state, the picker has a backend column, a model only one backend has
# is chosen by its plain name, a model two have is pinned as name@backend,
# and a chat goes where that name says.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/tui_lib.sh"

export PARLEY_DB="$T_DIR/b.db" PARLEY_NO_DISCOVER=1
start_fake G ollama '{"models":[{"name":"llama3.2:latest","loaded":true},{"name":"mistral:7b"}],"chat":{"tokens":["from ","gpu"]}}' || exit 1
start_fake L openai '{"models":[{"name":"gemma3:4b"},{"name":"mistral:7b"}],"chat":{"tokens":["from ","laptop"]}}' || exit 1
DOWN=http://127.0.0.1:$(free_port)
cat >"$XDG_CONFIG_HOME/parley-backends.ini" <<INI
[backend gpu]
provider = ollama
base-url = $G_URL

[backend laptop]
provider = openai
base-url = $L_URL

[backend attic]
provider = ollama
base-url = $DOWN
INI
chats() { jq -c 'select(.path == "/api/chat" or .path == "/v1/chat/completions")' "$1" 2>/dev/null | wc -l; }

start_tui "--config $XDG_CONFIG_HOME/parley-backends.ini -m llama3.2"
expect_screen "the bar names every backend" "gpu ● laptop ● attic ○"
keys C-p
expect_screen "the picker says how many backends" "Models · 3 backends: gpu, laptop, attic"
expect_screen "a backend column" "BACKEND"
expect_screen "the laptop's model, in its row" "laptop     gemma3:4b"
expect_screen "mistral on the gpu" "gpu        mistral:7b"
expect_screen "and on the laptop" "laptop     mistral:7b"
keys g e m m a
expect_screen "the filter narrows the list" "filter: gemma"
keys Enter
expect_screen "a model only one backend has: its plain name" "│ gemma3:4b │"
keys "hello laptop" Enter
expect_screen "the chat goes to the laptop" "from laptop"
expect_eq "the laptop got it" 1 "$(chats "$L_LOG")"
keys C-p
expect_screen "the picker again" "BACKEND"
keys l a p t o p Space m i s t
expect_screen "filtered by backend and name" "filter: laptop mist"
keys Enter
expect_screen "a model two backends have: pinned to the row's" "│ mistral:7b@laptop │"
keys "pinned" Enter
expect_screen "the pinned chat answers from the laptop" "from laptop"
expect_eq "the laptop got that one too" 2 "$(chats "$L_LOG")"
expect_eq "the gpu got none" 0 "$(chats "$G_LOG")"
end_tui "the screen ends cleanly"
done_testing
