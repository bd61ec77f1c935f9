#!/usr/bin/env bash
# `make lab-test`: bring up the two-host libvirt lab, run the libvirt driver's
# integration tests and the lab end-to-end scenarios, and take the lab down
# again (also on failure).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash testdata/lab/up.sh
trap 'bash testdata/lab/down.sh >/dev/null 2>&1 || true' EXIT
# shellcheck source=../lab/env.sh
. testdata/lab/env.sh
go test -count=1 -tags integration -timeout 25m ./migrate/libvirt/
VSMIG_E2E=1 go test -count=1 -tags lab -timeout 30m -run TestLab -v ./testdata/e2e/
