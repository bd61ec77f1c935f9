# The lab suite, shared by lab-test.sh and lab-repeat.sh (source it from the
# repository root): bringing a lab flavour up with its descriptor check,
# its tests, and taking it down. See testdata/lab/README.md for the lab.

# The stock run: what exercises the driver against libvirt 9.0, without the
# long, memory-dirtying scenarios that QEMU 7.2's TCG bug makes a gamble.
STOCK_INTEGRATION='^(TestInventory|TestCheckRefusals|TestLiveMigrationThereAndBack|TestAbortMidMigration|TestDestinationDaemonKilled|TestEventsOfARealMigration|TestRestartThereAndBack|TestAttachAfterDaemonDeath|TestTLSTransport|TestTLSStrictPeerToPeer)$'
STOCK_LAB='^TestLab$/^(check_refusals|live_migration|back_to_A|cancel)'

# check_descriptors LOCK: no lab daemon holds LOCK (opened by the caller
# before up.sh ran, as `flock LOCK make lab` would) or the caller's standard
# output (a CI wrapper's pipe).
check_descriptors() {
	local lock=$1 out pidfile pid f bad=0
	out=$(readlink /proc/$$/fd/1)
	for pidfile in "$VSMIG_LAB_DIR"/hosts/*/{libvirtd,virtlogd,sshd}.pid "$VSMIG_LAB_DIR"/hosts/*/run/qemu/*.pid; do
		[[ -s $pidfile ]] || continue
		pid=$(<"$pidfile")
		for f in /proc/"$pid"/fd/*; do
			case $(readlink "$f" 2>/dev/null) in
			"$lock" | "$out")
				echo "lab: $(cat /proc/"$pid"/comm) ($pid) holds $(readlink "$f") as fd ${f##*/}" >&2
				bad=1
				;;
			esac
		done
	done
	return "$bad"
}

# lab_up FLAVOUR: bring the lab up (up.sh) with a lock of ours open, as a
# caller holding one would, then export its environment and check that no
# daemon kept the lock or our output.
lab_up() {
	export VSMIG_LAB_FLAVOUR=$1
	local lock
	lock=$(mktemp /tmp/vsmig-lab.lock.XXXXXX)
	exec 9>"$lock"
	bash testdata/lab/up.sh
	exec 9>&-
	# shellcheck source=../lab/env.sh
	. testdata/lab/env.sh
	if ! check_descriptors "$lock"; then
		rm -f "$lock"
		echo "lab: the lab's daemons hold their caller's descriptors" >&2
		return 1
	fi
	rm -f "$lock"
}

# lab_suite FLAVOUR: the integration tests and the lab scenarios, all of
# them on the current flavour, the stock run's on stock.
lab_suite() {
	local integration=() lab=(-run '^TestLab(Storage|FleetDrain|VMIndications)?$')
	if [[ $1 == stock ]]; then
		integration=(-run "$STOCK_INTEGRATION") lab=(-run "$STOCK_LAB")
	fi
	go test -count=1 -tags integration -timeout 25m "${integration[@]}" ./migrate/libvirt/ &&
		VSMIG_E2E=1 go test -count=1 -tags lab -timeout 30m "${lab[@]}" -v ./testdata/e2e/
}

lab_down() { VSMIG_LAB_FLAVOUR=$1 bash testdata/lab/down.sh; }
