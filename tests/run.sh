#!/bin/bash
# Test runner: every cmocka unit test binary and every integration script,
# each speaking TAP ("ok N - name" / "not ok N - name"). Prints one summary
# line, "N passed, N failed", and exits non-zero if anything failed.
#   tests/run.sh BUILD_DIR [PATTERN]   (PATTERN filters test file names)
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-build/san}
pattern=${2:-}
export PARLEY_BIN="$PWD/$build/parley"
export FAKELLM="$PWD/$build/tests/fakellm"
export TESTS_DIR="$PWD/tests"
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir="$PWD/$build/test-logs"
rm -rf "$logdir" && mkdir -p "$logdir"

passed=0
failed=0
failures=()

# run_one NAME CMD...: run a TAP producer, count its results.
run_one() {
	local name=$1 log="$logdir/$(basename "$1").log" rc p f
	shift
	"$@" >"$log" 2>&1
	rc=$?
	p=$(grep -cE '^ok [0-9]+' "$log")
	# a failure message without a final newline can glue "not ok" to it
	f=$(grep -oE '(^|[^a-z])not ok [0-9]+ - ' "$log" | wc -l)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed or a sanitizer fired outside a test case
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	printf '%-40s %4d passed %4d failed\n' "$name" "$p" "$f"
	if [ "$f" -ne 0 ]; then
		failures+=("$name")
		grep -E '^not ok|^# ' "$log" | head -40 | sed 's/^/    /'
		tail -n 15 "$log" | sed 's/^/    | /'
	fi
}

for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.o | *.d) continue ;; esac
	[ -n "$pattern" ] && [[ "$t" != *$pattern* ]] && continue
	run_one "unit/$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	[ -n "$pattern" ] && [[ "$t" != *$pattern* ]] && continue
	run_one "integration/$(basename "$t" .sh)" bash "$t"
done

# A few seconds of each fuzzer on a scratch copy of its seed corpus, with a
# fixed seed so a check run does not pass or fail by luck (make fuzz runs
# them longer, with random seeds). A crash fails the target.
fuzz_one() {
	local bin=$1 name scratch dict=() rc
	name=$(basename "$bin")
	scratch=$(mktemp -d)
	cp tests/fuzz/corpus/"$name"/* "$scratch"/ 2>/dev/null
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	"$bin" "${dict[@]}" -seed="${FUZZ_SEED:-1}" -max_total_time="${FUZZ_SMOKE_SECONDS:-3}" -max_len=16384 \
		-rss_limit_mb=2048 -artifact_prefix="$logdir/$name-" "$scratch" 2>&1 | tail -n 30
	rc=${PIPESTATUS[0]}
	rm -rf "$scratch"
	if [ "$rc" -eq 0 ]; then echo "ok 1 - $name ran without a crash"; else echo "not ok 1 - $name crashed (input in $logdir)"; fi
}
for t in build/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	[ -n "$pattern" ] && [[ "$t" != *$pattern* ]] && continue
	run_one "fuzz/$(basename "$t")" fuzz_one "$t"
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failing: ${failures[*]} (logs in $logdir)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
