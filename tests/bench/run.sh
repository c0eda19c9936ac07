#!/bin/bash
# tests/bench/run.sh BUILD_DIR: parley's speed against baselines measured in
# the same run (curl, the official ollama and openai npm clients, the bare
# cost of starting parley). Every measurement is repeated; a row quotes the
# median with min-max, its ratio is computed from the medians, and it is
# MET or MISSED against its target. Prints one table; writes every sample
# to build/bench/results.json.
#
#   BENCH_QUICK=1   small inputs, fewer repetitions: a smoke run
#   BENCH_REPS=N    repetitions of the heavy measurements (default 5)
#   BENCH_TOKENS=N  tokens in the streamed reply (default 200000, quick 20000)
#   BENCH_ROWS="3 5" only these groups of rows (7: MCP tools) (1 and 2 run together; 4d
#                   belongs to 6, which needs the generated store)
#
# CPU is user+sys of the client process alone (wait4 in rusage.c); the
# backend double runs as a separate process and is never counted. The
# generated session store is kept between runs in build/bench/cache and
# rebuilt when the store code, the generator or the sizes change.
set -u
cd "$(dirname "$0")/../.." || exit 1
root=$PWD
build=$root/${1:-build/rel}
PARLEY=$build/parley
FAKELLM=$build/tests/fakellm
RUSAGE=$build/bench/rusage
PTYRUN=$build/bench/ptyrun
NODE_DIR=$root/tests/bench/node
for b in "$PARLEY" "$FAKELLM" "$RUSAGE" "$PTYRUN"; do
	[ -x "$b" ] || {
		echo "bench: $b is missing (make bench builds it)" >&2
		exit 1
	}
done
for t in curl node npm jq tmux; do
	command -v $t >/dev/null || {
		echo "bench: $t is not installed (make deps)" >&2
		exit 1
	}
done

if [ -n "${BENCH_QUICK:-}" ]; then
	TOKENS=20000 REPS=${BENCH_REPS:-3} QREPS=7 SESSIONS=300 MSGS=50
else
	TOKENS=200000 REPS=${BENCH_REPS:-5} QREPS=21 SESSIONS=10000 MSGS=50
fi
TOKENS=${BENCH_TOKENS:-$TOKENS}
BIGCHARS=1000000

out=$root/build/bench
work=$out/work
rm -rf "$work"
mkdir -p "$work" "$out/cache"
export HOME=$work/home XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/state
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_STATE_HOME"
unset OLLAMA_HOST OLLAMA_BASE_URL OLLAMA_MODEL LM_STUDIO_BASE_URL LM_STUDIO_MODEL \
	OPENAI_BASE_URL OPENAI_API_KEY LOCAL_LLM_MODEL PARLEY_PROVIDER PARLEY_MODEL \
	PARLEY_DB PARLEY_CONFIG PARLEY_THEME PARLEY_SERVE_KEY NO_COLOR \
	http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY='*'
errlog=$work/errors.log
: >"$errlog"

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

say() { printf 'bench: %s\n' "$*" >&2; }

# wait_for SECONDS CMD...: poll CMD until it succeeds or the deadline passes.
wait_for() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@" 2>/dev/null; do
		[ "$(date +%s)" -gt "$end" ] && return 1
		sleep 0.02
	done
}

# start_fake NAME FLAVOR SCENARIO_JSON: sets NAME_URL.
start_fake() {
	local dir=$work/fake-$1
	mkdir -p "$dir"
	printf '%s\n' "$3" >"$dir/scenario.json"
	"$FAKELLM" --flavor "$2" --scenario "$dir/scenario.json" --port-file "$dir/port" \
		--log /dev/null 2>"$dir/stderr" &
	PIDS+=($!)
	wait_for 10 test -s "$dir/port" || {
		say "the $2 double did not start: $(cat "$dir/stderr")"
		exit 1
	}
	printf -v "$1_URL" 'http://127.0.0.1:%s' "$(cat "$dir/port")"
}

# want N: whether BENCH_ROWS selects the group of rows N (all by default).
want() { [ -z "${BENCH_ROWS:-}" ] || [[ " ${BENCH_ROWS//,/ } " == *" $1 "* ]]; }

# ---- statistics and rows ----

# stats: the values on stdin -> "median min max n" (median of an even count:
# the mean of the middle two).
stats() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "null null null 0"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.6g %.6g %.6g %d\n", m, v[1], v[NR], NR }'
}

# col FILE N [SCALE]: column N of a rusage result file, times SCALE.
col() { awk -v n="$2" -v s="${3:-1}" '{ printf "%.6f\n", $n * s }' "$1"; }

# jcol FILE KEY [SCALE]: KEY of each JSON line of a ptyrun result file.
jcol() { jq -r --arg k "$2" --argjson s "${3:-1}" '.[$k] * $s' "$1"; }

ROWS=$work/rows.jsonl
: >"$ROWS"

# row ID TITLE UNIT KIND OP TARGET PARLEY_VALUES BASE_NAME BASE_VALUES [NOTE]
#   KIND ratio: the target bounds median(parley) / median(baseline);
#   KIND abs: it bounds median(parley) in UNIT, the baseline is context.
#   OP is "<=", "<" or ">="; TARGET null: a figure quoted for context,
#   neither MET nor MISSED. *_VALUES are newline-separated samples.
row() {
	local id=$1 title=$2 unit=$3 kind=$4 op=$5 target=$6 pv=$7 bname=$8 bv=$9 note=${10:-}
	local p b ratio=null val met
	read -r -a p <<<"$(printf '%s\n' "$pv" | grep -v '^$' | stats)"
	read -r -a b <<<"$(printf '%s\n' "$bv" | grep -v '^$' | stats)"
	if [ "${p[0]}" != null ] && [ "${b[0]}" != null ] && awk "BEGIN { exit !(${b[0]} > 0) }"; then
		ratio=$(awk "BEGIN { printf \"%.4g\", ${p[0]} / ${b[0]} }")
	fi
	if [ "$kind" = ratio ]; then val=$ratio; else val=${p[0]}; fi
	if [ "$val" = null ] || [ "$target" = null ]; then
		met=null
	elif awk "BEGIN { exit !($val $op $target) }"; then
		met=true
	else
		met=false
	fi
	jq -cn --arg id "$id" --arg title "$title" --arg unit "$unit" --arg kind "$kind" \
		--arg op "$op" --argjson target "$target" --arg bname "$bname" --arg note "$note" \
		--argjson ratio "$ratio" --argjson met "$met" \
		--argjson ps "[$(printf '%s\n' "$pv" | grep -v '^$' | paste -sd,)]" \
		--argjson bs "[$(printf '%s\n' "$bv" | grep -v '^$' | paste -sd,)]" \
		--argjson pm "${p[0]}" --argjson pmin "${p[1]}" --argjson pmax "${p[2]}" \
		--argjson bm "${b[0]}" --argjson bmin "${b[1]}" --argjson bmax "${b[2]}" \
		'{id: $id, title: $title, unit: $unit, kind: $kind, target: {op: $op, value: $target},
		  parley: {median: $pm, min: $pmin, max: $pmax, samples: $ps},
		  baseline: {name: $bname, median: $bm, min: $bmin, max: $bmax, samples: $bs},
		  ratio: $ratio, met: $met, note: (if $note == "" then null else $note end)}' >>"$ROWS"
	say "row $id: parley ${p[0]} $unit, $bname ${b[0]} $unit, ratio $ratio, met $met"
}

# pending ID TITLE WHY: a row that cannot be measured in this tree yet.
pending() {
	jq -cn --arg id "$1" --arg title "$2" --arg note "$3" \
		'{id: $id, title: $title, met: null, pending: true, note: $note}' >>"$ROWS"
}

# ---- 1, 2: the token path ----

# The reply: 8 pieces, one of them non-ASCII and one a newline, so the
# decoders do real unescaping; repeated to TOKENS pieces.
PIECES='["Hello", ",", " world", "!", " na\u00efve", " \"quoted\"", " code", "\n"]'
REPEAT=$((TOKENS / 8))
scenario() {
	printf '{"models":[{"name":"bench"}],"accept_any_model":true,"chat":{"tokens":%s,"repeat":%d}}' \
		"$PIECES" "$REPEAT"
}
start_fake OLL ollama "$(scenario)"
start_fake OAI openai "$(scenario)"
expected=$work/expected.txt
jq -rj --argjson n "$REPEAT" '[range($n)] | map($p) | add | join("")' --argjson p "$PIECES" -n >"$expected"

node_ok=true
if [ ! -d "$NODE_DIR/node_modules/ollama" ] || [ ! -d "$NODE_DIR/node_modules/openai" ]; then
	say "installing the official clients into tests/bench/node/node_modules"
	(cd "$NODE_DIR" && npm install --no-audit --no-fund --no-package-lock >"$work/npm.log" 2>&1) || {
		say "npm install failed (see $work/npm.log); the npm client rows are skipped"
		node_ok=false
	}
fi

OLL_BODY='{"model":"bench","messages":[{"role":"user","content":"hi"}]}'
OAI_BODY='{"model":"bench","stream":true,"messages":[{"role":"user","content":"hi"}]}'
CLIENTS=(
	"parley-ollama|$PARLEY --provider ollama --base-url $OLL_URL -m bench hi"
	"curl-ollama|curl -sN $OLL_URL/api/chat -d $OLL_BODY -o /dev/null"
	"js-ollama|node $NODE_DIR/ollama_chat.mjs $OLL_URL bench"
	"parley-openai|$PARLEY --provider openai --base-url $OAI_URL -m bench hi"
	"curl-openai|curl -sN $OAI_URL/v1/chat/completions -H content-type:application/json -d $OAI_BODY -o /dev/null"
	"js-openai|node $NODE_DIR/openai_chat.mjs $OAI_URL/v1 bench"
)

if want 1 || want 2; then
# Each client once to a file first: its output must be the whole reply.
for c in "${CLIENTS[@]}"; do
	name=${c%%|*}
	read -r -a cmd <<<"${c#*|}"
	case $name in
	curl-*) continue ;;
	js-*) $node_ok || continue ;;
	esac
	"${cmd[@]}" >"$work/$name.out" 2>>"$errlog" </dev/null
	if ! cmp -s "$expected" "$work/$name.out"; then
		say "$name did not print the reply it was sent ($(wc -c <"$work/$name.out") of $(wc -c <"$expected") bytes)"
		exit 1
	fi
done
say "token path: $TOKENS tokens, $REPS runs of each client, interleaved"
for ((i = 0; i < REPS; i++)); do
	for c in "${CLIENTS[@]}"; do
		name=${c%%|*}
		read -r -a cmd <<<"${c#*|}"
		case $name in js-*) $node_ok || continue ;; esac
		"$RUSAGE" "$work/$name.ru" "${cmd[@]}" >/dev/null 2>>"$errlog" </dev/null ||
			say "$name failed (status $?)"
	done
done
cpu() { [ -f "$work/$1.ru" ] && col "$work/$1.ru" 1; }
row 1a "Ollama NDJSON, $TOKENS tokens: client CPU vs curl" s ratio '<=' 15 \
	"$(cpu parley-ollama)" "curl -sN > /dev/null" "$(cpu curl-ollama)"
row 1b "Ollama NDJSON, $TOKENS tokens: client CPU vs ollama-js" s ratio '<=' 0.3 \
	"$(cpu parley-ollama)" "ollama npm client" "$(cpu js-ollama)"
row 2a "OpenAI SSE, $TOKENS tokens: client CPU vs curl" s ratio '<=' 15 \
	"$(cpu parley-openai)" "curl -sN > /dev/null" "$(cpu curl-openai)"
row 2b "OpenAI SSE, $TOKENS tokens: client CPU vs openai-js" s ratio '<=' 0.3 \
	"$(cpu parley-openai)" "openai npm client" "$(cpu js-openai)"
fi

# ---- 4: start-up and memory ----
export OLLAMA_HOST=${OLL_URL#http://} # rows 4 and 6 find the backend through it
if want 4; then

# The floor of every start-up row: exec parley, load its libraries, print
# the version, exit.
say "start-up: $QREPS runs each, interleaved"
for ((i = 0; i < QREPS; i++)); do
	"$RUSAGE" "$work/version.ru" "$PARLEY" --version >/dev/null 2>>"$errlog"
	"$RUSAGE" "$work/models.ru" "$PARLEY" models >/dev/null 2>>"$errlog" ||
		say "parley models failed"
	"$RUSAGE" "$work/tags.ru" curl -sf "$OLL_URL/api/tags" -o /dev/null 2>>"$errlog"
	"$PTYRUN" -w 'F1 help' -k '\x04' "$PARLEY" -m bench >>"$work/tui-idle.pty" 2>>"$errlog" ||
		say "the TUI did not paint its first frame"
	"$PTYRUN" -w '>>> ' -k '\x04' "$PARLEY" --repl -m bench >>"$work/repl-idle.pty" 2>>"$errlog" ||
		say "the REPL did not show its prompt"
done
row 4a "parley models (OLLAMA_HOST set): wall vs curl /api/tags" ms ratio '<=' 1.5 \
	"$(col "$work/models.ru" 4 1000)" "curl -s /api/tags" "$(col "$work/tags.ru" 4 1000)" \
	"parley models probes /api/version, then lists /api/tags"
row 4b "TUI: exec to the first frame" ms abs '<' 20 \
	"$(jcol "$work/tui-idle.pty" ready_ms)" "parley --version (wall)" \
	"$(col "$work/version.ru" 4 1000)" \
	"parley -m bench on a 120x40 pty, until the status line's 'F1 help' is written; the backend is found behind the first frame"
row 4c "TUI idle, backend found: RSS" MB abs '<' 10 \
	"$(jcol "$work/tui-idle.pty" rss_kb 0.0009765625)" "curl -s /api/tags (max RSS)" \
	"$(col "$work/tags.ru" 5 0.0009765625)" \
	"VmRSS once the screen is up and quiet (libcurl loaded, the backend probed); the baseline is the curl tool fetching the model list"
row 4e "REPL: exec to the prompt" ms abs '<=' null \
	"$(jcol "$work/repl-idle.pty" ready_ms)" "parley --version (wall)" \
	"$(col "$work/version.ru" 4 1000)" \
	"the prompt is shown once the backend answered /api/version"
fi

# ---- 6: the session store ----
if want 6; then

# SESSIONS sessions of MSGS messages through `parley sessions import`, plus
# one session of BIGCHARS characters (the largest). Built once per key.
key=$(cat src/store.c src/cmd_sessions.c tests/bench/gen_sessions.mjs | sha1sum | cut -c1-12)
key=$key-$SESSIONS-$MSGS-$BIGCHARS
store=$out/cache/store-$key
if [ ! -f "$store/done" ]; then
	rm -rf "$out"/cache/store-*-"$SESSIONS-$MSGS-$BIGCHARS" # stale builds of this size
	mkdir -p "$store/gen"
	say "building the store: $SESSIONS sessions x $MSGS messages through parley sessions import (kept for later runs)"
	t0=$(date +%s)
	node tests/bench/gen_sessions.mjs "$store/gen" "$SESSIONS" "$MSGS" || exit 1
	node tests/bench/gen_sessions.mjs "$store/gen" 1 100 "$BIGCHARS" || exit 1
	mv "$store/gen/big.json" "$store/big.json"
	find "$store/gen" -name '*.json' -print0 | sort -z |
		PARLEY_DB=$store/parley.db xargs -0 -P 2 -n 1 "$PARLEY" sessions import >/dev/null 2>>"$errlog" || {
		say "import failed: $(tail -n 3 "$errlog")"
		exit 1
	}
	PARLEY_DB=$store/parley.db "$PARLEY" sessions import "$store/big.json" >"$store/big.id" || exit 1
	rm -rf "$store/gen"
	echo "$(($(date +%s) - t0))" >"$store/done"
	say "store built in $(cat "$store/done") s"
fi
export PARLEY_DB=$work/store.db
cp "$store/parley.db" "$PARLEY_DB"
bigid=$(cat "$store/big.id")
nmsgs=$(sqlite3 "$PARLEY_DB" 'SELECT count(*) FROM messages' 2>/dev/null || echo '?')
nsess=$(sqlite3 "$PARLEY_DB" 'SELECT count(*) FROM sessions' 2>/dev/null || echo '?')
say "store: $nsess sessions, $nmsgs messages, $(du -m "$PARLEY_DB" | cut -f1) MB"
"$PARLEY" sessions list >/dev/null 2>&1 # warm the page cache
for ((i = 0; i < QREPS; i++)); do
	"$RUSAGE" "$work/s-version.ru" "$PARLEY" --version >/dev/null 2>>"$errlog"
	"$RUSAGE" "$work/s-list.ru" "$PARLEY" sessions list >/dev/null 2>>"$errlog"
	"$RUSAGE" "$work/s-search.ru" "$PARLEY" sessions search garden bridge >/dev/null 2>>"$errlog"
	"$RUSAGE" "$work/s-show.ru" "$PARLEY" sessions show "$bigid" >/dev/null 2>>"$errlog"
done
for ((i = 0; i < REPS; i++)); do
	"$PTYRUN" -w '>>> ' -k '\x04' "$PARLEY" --repl -s "$bigid" >>"$work/repl-big.pty" 2>>"$errlog" ||
		say "the REPL did not open the large session"
	"$PTYRUN" -w 'F1 help' -k '\x04' "$PARLEY" -s "$bigid" >>"$work/tui-big.pty" 2>>"$errlog" ||
		say "the TUI did not open the large session"
done
row 4d "TUI with a $BIGCHARS-character session open: RSS" MB abs '<' 30 \
	"$(jcol "$work/tui-big.pty" rss_kb 0.0009765625)" "TUI idle, empty session" \
	"$(jcol "$work/tui-idle.pty" rss_kb 0.0009765625)" \
	"parley -s ID on a 120x40 pty, VmRSS once quiet; the session is in a store of $nsess sessions"
baseline="parley --version (wall)"
row 6a "sessions list ($nsess sessions, $nmsgs messages): wall" ms abs '<' 100 \
	"$(col "$work/s-list.ru" 4 1000)" "$baseline" "$(col "$work/s-version.ru" 4 1000)"
row 6b "sessions search (two words, all sessions): wall" ms abs '<' 200 \
	"$(col "$work/s-search.ru" 4 1000)" "$baseline" "$(col "$work/s-version.ru" 4 1000)"
row 6c "sessions show the largest ($BIGCHARS characters): wall" ms abs '<' 100 \
	"$(col "$work/s-show.ru" 4 1000)" "$baseline" "$(col "$work/s-version.ru" 4 1000)" \
	"the whole transcript printed to /dev/null"
row 6d "REPL opening the largest session: exec to prompt" ms abs '<' 100 \
	"$(jcol "$work/repl-big.pty" ready_ms)" "REPL, empty session" "$(jcol "$work/repl-idle.pty" ready_ms)"
unset PARLEY_DB
fi
unset OLLAMA_HOST

# ---- 3: the TUI ----
if want 3; then

# The same TOKENS-token reply as row 1, streamed into the TUI in tmux at
# 120x40. The clock starts when the prompt is sent and stops when a capture
# of the pane shows the finished status line (the reply's token count, no
# spinner) under a transcript that ends with the last piece. CPU is
# utime+stime of the parley process (the pane's own pid) read at that
# moment; frames come from PARLEY_TUI_STATS=1 when it exits. The baseline is
# pipe mode on the same stream, run between the TUI runs.
TMUX_BENCH=(tmux -L "bench-$$" -f /dev/null)
TICK=$(getconf CLK_TCK)
tui_ready() { "${TMUX_BENCH[@]}" capture-pane -p -t bench | tail -n 1 | grep -q 'F1 help'; }
# The poller shares the 2 cores with the TUI, tmux and the backend, so it
# starts no process and no subshell: the keys and the captures go through
# one tmux control client (tmux -C, pane output not forwarded to it), the
# clock is $EPOCHREALTIME and the pause a read with a timeout on a FIFO
# nobody writes. It reads the status line every 10 ms and the whole pane
# only once that line shows the final count.
mkfifo "$work/nap"
exec {NAPFD}<>"$work/nap"
ctl_start() {
	coproc TCTL { "${TMUX_BENCH[@]}" -C attach -t bench -f no-output 2>/dev/null; }
}
ctl() { # COMMAND: what it printed goes to CTL_OUT
	local line in=false
	CTL_OUT=''
	printf '%s\n' "$1" >&"${TCTL[1]}"
	while IFS= read -r -t 10 -u "${TCTL[0]}" line; do
		# a block with flags 1 answers this client's command; flags 0
		# is the attach's own
		case $line in
		%begin*' 1') in=true ;;
		%end*' 1' | %error*' 1') $in && break ;;
		*) $in && CTL_OUT+=$line$'\n' ;;
		esac
	done
}
tui_done() { # the pane shows the whole reply, finished
	ctl "capture-pane -p -t bench"
	printf '%s' "$CTL_OUT" >"$work/tui.cap"
	tail -n 1 "$work/tui.cap" | grep -q "^ $TOKENS tokens" &&
		grep -v '^$' "$work/tui.cap" | tail -n 4 | head -n 1 | grep -q 'code$'
}
tui_wait_done() { # SECONDS
	local end=$((${EPOCHREALTIME/./} + $1 * 1000000))
	while ((${EPOCHREALTIME/./} < end)); do
		ctl "capture-pane -p -t bench -S 39 -E 39"
		if [[ $CTL_OUT == " $TOKENS tokens"* ]] && tui_done; then
			return 0
		fi
		read -r -t 0.01 -u "$NAPFD" || :
	done
	return 1
}
tui_cpu() { # PID -> user+sys seconds
	awk -v t="$TICK" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / t }' "/proc/$1/stat"
}
say "TUI: $TOKENS tokens into tmux at 120x40, $REPS runs, pipe mode between them"
: >"$work/tui.tsv"
for ((i = 0; i < REPS; i++)); do
	"$RUSAGE" "$work/tui-pipe.ru" "$PARLEY" --provider ollama --base-url "$OLL_URL" -m bench hi \
		>/dev/null 2>>"$errlog" </dev/null || say "pipe mode failed"
	"${TMUX_BENCH[@]}" kill-server 2>/dev/null
	[ -n "${TCTL_PID:-}" ] && wait "$TCTL_PID" 2>/dev/null
	"${TMUX_BENCH[@]}" new-session -d -s bench -x 120 -y 40 \
		"exec env PARLEY_TUI_STATS=1 $PARLEY --provider ollama --base-url $OLL_URL -m bench 2>$work/tui.err"
	if ! wait_for 10 tui_ready; then
		say "the TUI did not come up: $(cat "$work/tui.err")"
		break
	fi
	pid=$("${TMUX_BENCH[@]}" display -p -t bench '#{pane_pid}')
	ctl_start
	ctl "display -p ready"
	t0=${EPOCHREALTIME/./}
	ctl "send-keys -t bench hi Enter"
	if ! tui_wait_done 120; then
		say "the TUI did not show the whole reply"
		break
	fi
	t1=${EPOCHREALTIME/./}
	cpu_s=$(tui_cpu "$pid")
	"${TMUX_BENCH[@]}" send-keys -t bench C-d
	wait_for 10 grep -q 'frames painted' "$work/tui.err" || say "no PARLEY_TUI_STATS line"
	read -r frames paint_ms loops < <(sed -n 's/^parley: \([0-9]*\) frames painted in \([0-9.]*\) ms, \([0-9]*\) loop.*/\1 \2 \3/p' "$work/tui.err")
	printf '%s %s %s %s %s\n' "$((t1 - t0))" "$cpu_s" "${frames:-null}" "${paint_ms:-null}" \
		"${loops:-null}" >>"$work/tui.tsv"
	cp "$work/tui.cap" "$work/tui-last.cap"
done
"${TMUX_BENCH[@]}" kill-server 2>/dev/null
tui() { awk -v n="$1" -v s="${2:-1}" '$n != "null" { printf "%.6f\n", $n * s }' "$work/tui.tsv"; }
fps() { awk '$3 != "null" { printf "%.3f\n", $3 / ($1 / 1e6) }' "$work/tui.tsv"; }
row 3a "TUI, $TOKENS tokens in tmux at 120x40: send to last token on screen" s ratio '<=' 1.5 \
	"$(tui 1 1e-6)" "pipe mode, same stream (exec to exit)" "$(col "$work/tui-pipe.ru" 4)" \
	"polled with tmux capture-pane: done when the status line shows the reply's token count and the transcript ends with its last piece"
row 3b "TUI: CPU of the parley process" s abs '<=' null \
	"$(tui 2)" "pipe mode, same stream" "$(col "$work/tui-pipe.ru" 1)" \
	"utime+stime from /proc/PID/stat at the end of the reply, start-up included"
row 3c "TUI: CPU per 1,000 tokens" ms abs '<=' null \
	"$(tui 2 "$(awk -v t="$TOKENS" 'BEGIN { print 1e6 / t }')")" "pipe mode, same stream" \
	"$(col "$work/tui-pipe.ru" 1 "$(awk -v t="$TOKENS" 'BEGIN { print 1e6 / t }')")"
row 3d "TUI: frames painted per second while streaming" "frames/s" abs '<=' 60 \
	"$(fps)" "frame interval cap (16 ms)" "62.5" \
	"PARLEY_TUI_STATS=1 frame count (start-up frames included) over the send-to-screen time; paint time and loop iterations in the samples file"
cp "$work/tui.tsv" "$out/tui.tsv"
fi

# ---- 5: the listener ----
if want 5; then

# The official openai client (one keep-alive client per endpoint) against
# the OpenAI double directly and against parley serve in front of it, both
# replying with 16 x 8 pieces. Latency: N non-streamed requests, alternating
# between the two, once per repetition; the listener stores every exchange
# (its default; serve has no --no-save). Then 32 streamed requests at once.
LSCEN=$(printf '{"models":[{"name":"bench"}],"accept_any_model":true,"chat":{"tokens":%s,"repeat":16}}' "$PIECES")
start_fake LST openai "$LSCEN"
jq -rj '[range(16)] | map($p) | add | join("")' --argjson p "$PIECES" -n >"$work/listener.txt"
if $node_ok; then
	"$PARLEY" serve --listen 127.0.0.1:0 --provider openai --base-url "$LST_URL" 2>"$work/serve.err" &
	PIDS+=($!)
	if wait_for 10 grep -q 'listening on' "$work/serve.err"; then
		SERVE_URL=$(grep -o 'listening on http://[0-9.:]*' "$work/serve.err" | cut -d' ' -f3)
		LN=$([ -n "${BENCH_QUICK:-}" ] && echo 200 || echo 1000)
		say "listener: $LN non-streamed requests each way, $REPS runs; 32 streamed at once"
		: >"$work/lat.jsonl"
		: >"$work/conc.jsonl"
		: >"$work/conc-direct.jsonl"
		for ((i = 0; i < REPS; i++)); do
			node "$NODE_DIR/listener.mjs" latency "$LST_URL/v1" "$SERVE_URL/v1" bench "$work/listener.txt" "$LN" \
				>>"$work/lat.jsonl" 2>>"$errlog" || say "the latency run failed"
			node "$NODE_DIR/listener.mjs" concurrent "$SERVE_URL/v1" bench "$work/listener.txt" 32 \
				>>"$work/conc.jsonl" 2>>"$errlog" || say "the concurrent run failed"
			node "$NODE_DIR/listener.mjs" concurrent "$LST_URL/v1" bench "$work/listener.txt" 32 \
				>>"$work/conc-direct.jsonl" 2>>"$errlog" || say "the concurrent run (direct) failed"
		done
		lat() { jq -r "$1" "$work/lat.jsonl"; }
		row 5a "listener: added latency per non-streamed request, p50" ms abs '<' 1 \
			"$(lat '.parley_p50 - .direct_p50')" "openai client to the double directly, p50" "$(lat .direct_p50)" \
			"p50 through parley serve minus p50 direct, same run, alternating requests"
		row 5b "listener: added latency per non-streamed request, p99" ms abs '<' null \
			"$(lat '.parley_p99 - .direct_p99')" "openai client to the double directly, p99" "$(lat .direct_p99)"
		row 5c "listener: 32 concurrent streamed requests ending with the whole reply" requests abs '>=' 32 \
			"$(jcol "$work/conc.jsonl" complete)" "the same 32 to the double directly" \
			"$(jcol "$work/conc-direct.jsonl" complete)"
		row 5d "listener: 32 concurrent streamed requests, throughput" "req/s" ratio '>=' null \
			"$(jcol "$work/conc.jsonl" rps)" "the same 32 to the double directly" \
			"$(jcol "$work/conc-direct.jsonl" rps)" "one node process drives all 32; its own CPU is in both figures"
	else
		say "parley serve did not start: $(cat "$work/serve.err")"
	fi
fi
fi

# ---- 7: MCP tools ----
# One tool round trip through parley's MCP client (parley tools --call, its
# own per-call times) against a client written on the wire in node, both
# calling server-everything's echo over stdio; and start-to-ready of that
# server (initialize and tools/list) through each.
if want 7; then
EVERYTHING=$root/tests/node/node_modules/@modelcontextprotocol/server-everything/dist/index.js
if [ -f "$EVERYTHING" ]; then
	MN=$([ -n "${BENCH_QUICK:-}" ] && echo 200 || echo 2000)
	printf '{"mcpServers":{"everything":{"command":"node","args":["%s","stdio"]}}}\n' "$EVERYTHING" >"$work/mcp.json"
	say "MCP: $MN echo calls each way, $REPS runs"
	: >"$work/mcp-parley.jsonl"
	: >"$work/mcp-direct.jsonl"
	: >"$work/mcp-ready.jsonl"
	for ((i = 0; i < REPS; i++)); do
		"$PARLEY" --mcp "$work/mcp.json" tools everything --call everything__echo --args '{"message":"hi"}' \
			--repeat "$MN" --json >>"$work/mcp-parley.jsonl" 2>>"$errlog" || say "parley tools --call failed"
		"$PARLEY" --mcp "$work/mcp.json" tools --json everything | jq -c '{ready_ms: .servers[0].ready_ms}' \
			>>"$work/mcp-ready.jsonl" 2>>"$errlog" || say "parley tools failed"
		node "$NODE_DIR/mcp_direct.mjs" "$EVERYTHING" "$MN" >>"$work/mcp-direct.jsonl" 2>>"$errlog" ||
			say "the direct MCP client failed"
	done
	p50() { jq -r '.us | sort | .[length / 2 | floor] / 1000' "$1"; }
	row 7a "MCP: added latency of one tool round trip (echo over stdio), p50" ms abs '<' 1 \
		"$(paste -d' ' <(p50 "$work/mcp-parley.jsonl") <(p50 "$work/mcp-direct.jsonl") | awk '{ printf "%.6f\n", $1 - $2 }')" \
		"a node client on the wire, p50 of the round trip" "$(p50 "$work/mcp-direct.jsonl")" \
		"p50 through parley's MCP client minus p50 of the node client, same server, same run; below 0: parley's side is quicker"
	row 7b "MCP: stdio server start to ready (server-everything)" ms ratio '<=' null \
		"$(jcol "$work/mcp-ready.jsonl" ready_ms)" "the node client: spawn, initialize, tools/list" \
		"$(jcol "$work/mcp-direct.jsonl" ready_ms)" "almost all of it is node starting the server"
else
	pending 7a "MCP: added latency of one tool round trip" "the MCP servers are not installed (make deps)"
fi
fi

# ---- 8: several backends ----
# One pipe-mode exchange (a few tokens, --no-save) with the model on one
# backend named directly, and through the router over four backends (the
# model on the last; the others hold other models), alternating runs. The
# router asks all four for their lists (in parallel) before it chooses.
if want 8; then
	for k in 1 2 3; do
		start_fake "RB$k" ollama "{\"models\":[{\"name\":\"other$k:1b\"}],\"chat\":{\"tokens\":[\"x\"]}}"
	done
	start_fake RB4 ollama '{"models":[{"name":"bench:1b","loaded":true}],"chat":{"tokens":["a","b","c"]}}'
	{
		for k in 1 2 3 4; do
			url=RB${k}_URL
			printf '[backend b%s]\nprovider = ollama\nbase-url = %s\n' "$k" "${!url}"
		done
	} >"$work/backends.ini"
	RN=$([ -n "${BENCH_QUICK:-}" ] && echo 10 || echo 40)
	say "several backends: $RN exchanges each way"
	: >"$work/route-direct.ru"
	: >"$work/route-multi.ru"
	for ((i = 0; i < RN; i++)); do
		"$RUSAGE" "$work/route-direct.ru" "$PARLEY" --no-save --provider ollama --base-url "$RB4_URL" -m bench:1b hi \
			>/dev/null 2>>"$errlog"
		PARLEY_CONFIG=$work/backends.ini PARLEY_NO_DISCOVER=1 "$RUSAGE" "$work/route-multi.ru" "$PARLEY" --no-save \
			-m bench:1b hi >/dev/null 2>>"$errlog"
	done
	row 8a "four backends: one exchange routed vs the backend named, wall" ms ratio '<=' 1.3 \
		"$(col "$work/route-multi.ru" 4 1000)" "the same exchange with --provider/--base-url" \
		"$(col "$work/route-direct.ru" 4 1000)" "the router lists all four backends (in parallel) before it chooses; the process start dominates both"
fi

# ---- the table and results.json ----

jq -s --arg quick "${BENCH_QUICK:-}" --argjson tokens "$TOKENS" --argjson reps "$REPS" \
	--arg host "$(uname -srm)" --arg cpus "$(nproc)" --arg rev "$(git rev-parse --short HEAD 2>/dev/null)" \
	--arg date "$(date -u +%FT%TZ)" \
	'{date: $date, revision: $rev, host: $host, cpus: ($cpus | tonumber), quick: ($quick != ""),
	  tokens: $tokens, reps: $reps, rows: .}' "$ROWS" >"$out/results.json"

fmt() { # value -> short text
	awk -v v="$1" 'BEGIN { if (v == "null") print "-"; else if (v >= 100) printf "%.0f", v;
		else if (v >= 10) printf "%.1f", v; else if (v >= 1) printf "%.2f", v; else printf "%.3g", v }'
}
printf '\n| row | measure | parley: median (min-max) | baseline: median (min-max) | ratio | target | result |\n'
printf '|---|---|---|---|---|---|---|\n'
while IFS= read -r r; do
	id=$(jq -r .id <<<"$r")
	title=$(jq -r .title <<<"$r")
	if [ "$(jq -r '.pending // false' <<<"$r")" = true ]; then
		printf '| %s | %s | - | - | - | - | pending: %s |\n' "$id" "$title" "$(jq -r .note <<<"$r")"
		continue
	fi
	u=$(jq -r .unit <<<"$r")
	p="$(fmt "$(jq -r .parley.median <<<"$r")") $u ($(fmt "$(jq -r .parley.min <<<"$r")")-$(fmt "$(jq -r .parley.max <<<"$r")"))"
	b="$(jq -r .baseline.name <<<"$r"): $(fmt "$(jq -r .baseline.median <<<"$r")") $u ($(fmt "$(jq -r .baseline.min <<<"$r")")-$(fmt "$(jq -r .baseline.max <<<"$r")"))"
	ratio=$(jq -r .ratio <<<"$r")
	[ "$ratio" = null ] && ratio=- || ratio="$(fmt "$ratio")x"
	op=$(jq -r .target.op <<<"$r" | sed 's/<=/≤/; s/>=/≥/')
	t="$op $(jq -r .target.value <<<"$r")"
	[ "$(jq -r .kind <<<"$r")" = ratio ] && t="${t}x" || t="$t $u"
	case $(jq -r .met <<<"$r") in true) m=MET ;; false) m=MISSED ;; *) m='no data' ;; esac
	[ "$(jq -r .target.value <<<"$r")" = null ] && t=- m=info
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$id" "$title" "$p" "$b" "$ratio" "$t" "$m"
done < <(jq -c -s 'sort_by(.id)[]' "$ROWS")
printf '\n%s, %s CPUs, %s tokens, %s runs per heavy row (%s per start-up/store row); results in %s\n' \
	"$(uname -srm)" "$(nproc)" "$TOKENS" "$REPS" "$QREPS" "${out#"$root"/}/results.json"
if [ -s "$errlog" ]; then
	say "stderr of the measured commands (first lines):"
	head -n 5 "$errlog" >&2
fi
