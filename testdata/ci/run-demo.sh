#!/usr/bin/env bash
# `make run`: start vsmigd on its embedded default with a state directory in
# the checkout. On first start it creates the user "admin" with the password
# in $VSMIG_PASSWORD (default "vsmig-demo") so the README's tour works as
# typed; a real installation adds users with `vsmigd user add`.
set -euo pipefail
bin=$1 state=$2
mkdir -p -m 0700 "$state"
if [ ! -s "$state/users" ]; then
	pw=${VSMIG_PASSWORD:-vsmig-demo}
	printf '%s\n' "$pw" | "$bin" user add admin -users-file "$state/users"
	echo "run: created user admin (password: $pw) in $state/users"
fi
exec "$bin" serve -state-dir "$state" "${@:3}"
