# Helpers of the packaging tests (package-test.sh, image-test.sh): counted
# checks that end in one "N passed, N failed" line, and free loopback ports.

passed=0 failed=0

# check WHAT COMMAND...: runs COMMAND and counts WHAT as passed or failed.
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok    $what"
		passed=$((passed + 1))
	else
		echo "FAIL  $what"
		failed=$((failed + 1))
	fi
}

# summary prints the count and fails when a check did.
summary() {
	echo "$1: $passed passed, $failed failed"
	[ "$failed" = 0 ]
}

# free_port prints a TCP port free on 127.0.0.1 now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# contains HAYSTACK NEEDLE
contains() { [[ $1 == *"$2"* ]]; }
