#!/bin/sh
# Run the test suites and print one closing line "N passed, N failed".
# Usage: tests/check.sh [lint|unit|protocol|asan|fuzz]...   (default: all)
# Counts come from cmocka's summary lines, from the black-box runners'
# "N passed, N failed" lines, one per fuzz target replayed, and one for
# make lint (layering, clang-format, clang-tidy, cppcheck: tools/lint.sh).
cd "$(dirname "$0")/.." || exit 1
PYTHON=${PYTHON:-/usr/bin/python3}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count_cmocka() {
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
}

count_runner() {
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		return
	fi
	passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
	failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
}

run_units() {	# $1 = variant
	for t in build/"$1"/tests/unit/test-*; do
		[ -x "$t" ] || continue
		echo "== unit ($1): $(basename "$t")"
		"$t" >"$log" 2>&1
		rc=$?
		cat "$log"
		count_cmocka
		if [ $rc -ne 0 ] && ! grep -q '^\[  FAILED  \]' "$log"; then
			echo "   (exited $rc without a cmocka summary)"
			failed=$((failed + 1))
		fi
	done
}

run_protocol() {	# $1 = binary
	for r in tests/protocol/run-*.py tests/interop/run-*.py; do
		[ -f "$r" ] || continue
		echo "== $(basename "$r") against $1"
		IMAPMOVED_BIN=$1 "$PYTHON" "$r" >"$log" 2>&1
		cat "$log"
		count_runner
	done
}

run_fuzz_seeds() {
	for f in build/fuzz/tests/fuzz/fuzz-*; do
		[ -x "$f" ] || continue
		case "$f" in *.o|*.d) continue ;; esac
		n=$(basename "$f")
		dir=tests/fuzz/corpus/$n
		echo "== fuzz seeds: $n"
		if [ -d "$dir" ] && "$f" -runs=0 "$dir" >"$log" 2>&1; then
			passed=$((passed + 1))
		else
			tail -n 20 "$log"
			failed=$((failed + 1))
		fi
	done
}

run_lint() {
	echo "== lint (tools/lint.sh)"
	for tool in clang-format clang-tidy cppcheck; do
		if ! command -v "$tool" >/dev/null; then
			echo "   $tool missing (tools/deps-lint.txt)"
			failed=$((failed + 1))
			return
		fi
	done
	if sh tools/lint.sh; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
}

[ $# -eq 0 ] && set -- lint unit protocol asan fuzz
for what in "$@"; do
	case "$what" in
	lint) run_lint ;;
	unit) run_units faults ;;
	protocol) run_protocol "$PWD/imapmoved" ;;
	asan)
		run_units asan
		ASAN_OPTIONS=detect_leaks=1 run_protocol "$PWD/build/asan/imapmoved"
		;;
	fuzz) run_fuzz_seeds ;;
	*) echo "unknown suite $what" >&2; exit 2 ;;
	esac
done
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
