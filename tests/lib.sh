# tests/lib.sh: helpers for integration tests (sourced). Each script gets a
# private temporary HOME/XDG tree, speaks TAP through ok/not_ok, and cleans up
# the servers it started. Waits always have a deadline; nothing sleeps blind.
set -u

: "${PARLEY_BIN:?run through tests/run.sh}"
: "${FAKELLM:?run through tests/run.sh}"

T_NUM=0
T_FAILED=0
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/parley-test.XXXXXX")
export HOME="$T_DIR/home"
export XDG_CONFIG_HOME="$T_DIR/config"
export XDG_DATA_HOME="$T_DIR/data"
export XDG_STATE_HOME="$T_DIR/state"
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_STATE_HOME"
unset OLLAMA_HOST OLLAMA_BASE_URL OLLAMA_MODEL LM_STUDIO_BASE_URL LM_STUDIO_MODEL \
	OPENAI_BASE_URL OPENAI_API_KEY LOCAL_LLM_MODEL PARLEY_PROVIDER PARLEY_MODEL \
	PARLEY_DB PARLEY_CONFIG PARLEY_THEME PARLEY_SERVE_KEY NO_COLOR \
	http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY='*'
T_PIDS=()

t_cleanup() {
	local p
	for p in "${T_PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	for p in "${T_PIDS[@]:-}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null
	done
	rm -rf "$T_DIR"
}
trap t_cleanup EXIT

ok() {
	T_NUM=$((T_NUM + 1))
	echo "ok $T_NUM - $1"
}

not_ok() {
	T_NUM=$((T_NUM + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_NUM - $1"
	shift
	local line
	for line in "$@"; do
		printf '# %s\n' "$line"
	done
}

# check NAME CMD...: ok if CMD succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "command failed: $*"; fi
}

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected: $(printf '%q' "$2")" "actual:   $(printf '%q' "$3")"
	fi
}

# expect_contains NAME HAYSTACK NEEDLE
expect_contains() {
	if [[ "$2" == *"$3"* ]]; then
		ok "$1"
	else
		not_ok "$1" "expected to contain: $3" "actual: $2"
	fi
}

expect_not_contains() {
	if [[ "$2" != *"$3"* ]]; then
		ok "$1"
	else
		not_ok "$1" "expected not to contain: $3" "actual: $2"
	fi
}

# wait_for SECONDS CMD...: poll CMD until it succeeds or the deadline passes.
wait_for() {
	local secs=$1 end
	shift
	end=$(($(date +%s%N) + secs * 1000000000))
	while ! "$@" 2>/dev/null; do
		[ "$(date +%s%N)" -gt "$end" ] && return 1
		sleep 0.02
	done
	return 0
}

# start_fake NAME FLAVOR SCENARIO_JSON: start a test double; sets
# <NAME>_URL, <NAME>_PID and <NAME>_LOG (requests received, one JSON a line).
start_fake() {
	local name=$1 flavor=$2 scenario=$3 dir="$T_DIR/fake-$1" port
	if [ -e "$dir" ]; then
		# its port file would be taken for the new one's
		echo "# start_fake: the name $name is taken by an earlier double"
		return 1
	fi
	mkdir -p "$dir"
	printf '%s\n' "$scenario" >"$dir/scenario.json"
	"$FAKELLM" --flavor "$flavor" --scenario "$dir/scenario.json" \
		--port-file "$dir/port" --log "$dir/requests.log" 2>"$dir/stderr" &
	T_PIDS+=($!)
	printf -v "${name}_PID" '%s' "$!"
	if ! wait_for 10 test -s "$dir/port"; then
		echo "# fake $name did not start: $(cat "$dir/stderr")"
		return 1
	fi
	port=$(cat "$dir/port")
	printf -v "${name}_URL" 'http://127.0.0.1:%s' "$port"
	printf -v "${name}_LOG" '%s' "$dir/requests.log"
}

# last_chat LOG: the newest chat request in a double's request log. Other
# requests are skipped: the model lookup a turn makes beside its chat may
# be logged after it.
last_chat() { jq -c 'select(.path == "/api/chat" or .path == "/v1/chat/completions")' "$1" | tail -n 1; }

# A port on which nothing listens (bound then closed).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo 9
}

# start_serve NAME ARGS...: parley ARGS serve (give it --listen 127.0.0.1:0 for a free port); sets NAME_URL,
# NAME_PID and NAME_ERR (its stderr). Extra environment comes from the caller.
start_serve() {
	local name=$1 dir="$T_DIR/serve-$1"
	shift
	mkdir -p "$dir"
	"$PARLEY_BIN" "$@" serve 2>"$dir/stderr" &
	T_PIDS+=($!)
	printf -v "${name}_PID" '%s' "$!"
	printf -v "${name}_ERR" '%s' "$dir/stderr"
	if ! wait_for 20 grep -q 'listening on' "$dir/stderr"; then
		echo "# serve $name did not start: $(cat "$dir/stderr")"
		return 1
	fi
	printf -v "${name}_URL" '%s' "$(grep -o 'listening on http://[^ ]*' "$dir/stderr" | sed 's/listening on //; s/0\.0\.0\.0/127.0.0.1/')"
}

# run_parley: runs the binary capturing stdout, stderr and status into
# OUT, ERR and RC. Stdin is /dev/null unless redirected by the caller.
run_parley() {
	local o="$T_DIR/out.$$" e="$T_DIR/err.$$"
	"$PARLEY_BIN" "$@" >"$o" 2>"$e"
	RC=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
}

# done_testing: print the plan; exit non-zero if anything failed.
done_testing() {
	echo "1..$T_NUM"
	[ "$T_FAILED" -eq 0 ]
}
