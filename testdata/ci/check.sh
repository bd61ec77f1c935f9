#!/usr/bin/env bash
# Static checks: gofmt, go vet, staticcheck.
set -euo pipefail
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
sc=staticcheck
command -v staticcheck >/dev/null || sc="$(go env GOPATH)/bin/staticcheck"
"$sc" ./...
# The code behind build tags: the lab's integration tests and the
# end-to-end suites.
for t in integration:./migrate/libvirt/ e2e:./testdata/e2e/ lab:./testdata/e2e/; do
	go vet -tags "${t%%:*}" "${t#*:}"
	"$sc" -tags "${t%%:*}" "${t#*:}"
done
echo "check: gofmt, vet and staticcheck clean"
