#!/bin/sh
# Formatting check: every C file must be as clang-format (.clang-format) writes it.
cd "$(dirname "$0")/.." || exit 1
if ! command -v clang-format >/dev/null 2>&1; then
	echo "lint: clang-format is not installed (make deps)" >&2
	exit 1
fi
bad=0
for f in src/*.c include/*.h tests/*.h tests/unit/*.c tests/fakes/*.c tests/fuzz/*.c; do
	[ -f "$f" ] || continue
	if ! clang-format "$f" | cmp -s "$f" -; then
		echo "lint: $f is not formatted (run 'make format')" >&2
		bad=1
	fi
done
exit $bad
