# vsmig: see README.md. Every target works on a fresh Debian 12 machine as root.
SHELL      := /bin/bash
GO         ?= go
BIN        := bin
STATE      ?= $(CURDIR)/state
LAB_DIR    ?= /var/lib/vsmig-lab
GOFLAGS    ?=
VERSION    ?= 0.1.0-dev
export GOFLAGS VERSION

.PHONY: all build run run-cluster bench-fleet test deps check scripts-test unit e2e package package-test image image-test lab lab-down lab-test lab-repeat bench bench-wsman bench-lab fuzz-smoke install clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# The server on its embedded default: libvirt if a local libvirtd answers,
# otherwise the simulated demo cluster (it says which in its first log line).
run: build
	@bash testdata/ci/run-demo.sh "$(BIN)/vsmigd" "$(STATE)"

# Everything CI runs: install what the tests need, static checks, the CI
# scripts' own test, unit and fuzz-seed tests, the end-to-end tests with
# python3-winrm, the Debian package and the container image built and
# started, and the two-host libvirt lab (current and stock QEMU and
# libvirt) with its integration and end-to-end tests.
test: deps check scripts-test unit e2e package-test image-test lab-test

# The fleet demo: a 3-member etcd, three simulated hosts, a vsmigd each
# (README "Fleet"); Ctrl-C stops it all. `make run` stays single-host.
run-cluster: build
	@bash testdata/ci/run-cluster.sh "$(BIN)/vsmigd" "$(STATE)"

deps:
	@bash testdata/ci/deps.sh

check:
	@bash testdata/ci/check.sh

# The CI scripts' own behaviour: apt waits for another apt or dpkg.
scripts-test:
	@bash testdata/ci/apt-lock-test.sh

unit:
	VSMIG_E2E=1 $(GO) test -count=1 ./...

e2e: build
	VSMIG_E2E=1 $(GO) test -count=1 -tags e2e -v ./testdata/e2e/

# The Debian package dist/vsmig_<version>_<arch>.deb (nfpm).
package:
	@bash testdata/ci/package.sh

# Builds the package, then lintian, systemd-analyze, and install, start,
# remove and purge in a fresh Debian 12 root.
package-test:
	@bash testdata/ci/package-test.sh

# The container image localhost/vsmigd:$(VERSION), built by buildah from
# docker/Dockerfile on local stand-ins of its base images.
image:
	@bash testdata/ci/image.sh

# Builds the image, then checks its configuration and runs vsmigd from it.
image-test:
	@bash testdata/ci/image-test.sh

lab:
	bash testdata/lab/up.sh

lab-down:
	bash testdata/lab/down.sh

# FLAVOURS: current (QEMU 10 / libvirt 11.3, backports) and stock (QEMU 7.2 /
# libvirt 9.0); both by default.
lab-test: build
	@bash testdata/ci/lab-test.sh $(FLAVOURS)

# The lab suite N times in a row on one fresh lab, with the pass count.
N       ?= 5
FLAVOUR ?= current
lab-repeat: build
	@bash testdata/ci/lab-repeat.sh $(N) $(FLAVOUR)

# Benchmarks print their figures and the ratios against the issues'
# targets; none of them runs in `make test` (these machines are shared).
bench: bench-wsman bench-fleet
	bash testdata/bench/run.sh

# 50 hosts x 20 VMs drained through a real etcd (README "Fleet").
bench-fleet:
	$(GO) test -run '^$$' -bench '^BenchmarkDrain1000$$' -benchtime 1x ./migrate/fleet/

bench-wsman:
	$(GO) test -run '^$$' -bench 'BenchmarkHTTP' -benchtime 10000x ./wsman/

# Needs the lab (make lab); engine overhead against virsh and the dirty-rate sweep.
bench-lab: build
	bash testdata/bench/lab.sh

fuzz-smoke:
	@bash testdata/ci/fuzz-smoke.sh

PREFIX ?= /usr/local
install: build
	install -D -m 0755 $(BIN)/vsmigd $(DESTDIR)$(PREFIX)/sbin/vsmigd
	install -D -m 0755 $(BIN)/vsmigctl $(DESTDIR)$(PREFIX)/bin/vsmigctl
	sed 's|/usr/sbin/vsmigd|$(PREFIX)/sbin/vsmigd|' docker/vsmigd.service | install -D -m 0644 /dev/stdin $(DESTDIR)/etc/systemd/system/vsmigd.service
	install -D -m 0640 docker/vsmigd.sample.json $(DESTDIR)/etc/vsmig/vsmigd.json.sample

clean:
	rm -rf $(BIN) dist
