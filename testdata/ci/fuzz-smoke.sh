#!/usr/bin/env bash
# `make fuzz-smoke`: run every native fuzz target for FUZZTIME (default 10s).
# Plain `go test` (make unit) already replays each target's seed corpus.
set -euo pipefail
t=${FUZZTIME:-10s}
grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./testdata/' | while read -r f; do
	pkg=./$(dirname "${f#./}")
	grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //' | while read -r fn; do
		echo "fuzz: $pkg $fn ($t)"
		go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" "$pkg"
	done
done
