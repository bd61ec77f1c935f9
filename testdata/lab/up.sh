#!/usr/bin/env bash
# Brings up the two-host libvirt lab (see README.md): two libvirtd+virtlogd
# pairs on 127.0.0.2 (host a) and 127.0.0.3 (host b), each in its own mount
# namespace, and N TCG guests running on host a. Runs as root on Debian 12
# with no systemd. Idempotent: what is already up is left as is, guests
# found on host b are moved back to host a.
#
# Environment: VSMIG_LAB_DIR (state, default /var/lib/vsmig-lab),
# VSMIG_LAB_CACHE (kernel download, default /var/cache/vsmig-lab),
# VSMIG_LAB_GUEST_COUNT (number of guests, default 2), VSMIG_LAB_DIRTY (guest
# dirtying pace, default 64K@10ms), VSMIG_LAB_GUEST_MEM (checked region,
# default 64M).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $(id -u) == 0 ]] || die "must run as root"

install_packages() {
	local pkgs=(qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu
		libvirt-daemon-system libvirt-clients cpio python3-winrm) missing=() p
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Installing libvirt-daemon-system would start services under systemd;
	# without systemd its scripts just fail to, which is fine.
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# fetch_kernel: Debian's cloud kernel, downloaded once into the cache and
# extracted there (no install into /boot).
fetch_kernel() {
	mkdir -p "$LAB_CACHE" "$LAB_DIR/guest"
	local vmlinuz
	vmlinuz=$(ls "$LAB_CACHE"/root/boot/vmlinuz-6.1.0-*-cloud-amd64 2>/dev/null | sort -V | tail -1 || true)
	if [[ -z $vmlinuz ]]; then
		local pkg deb
		pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' |
			awk '{print $1}' | sort -V | tail -1)
		if [[ -z $pkg ]]; then
			apt-get update -qq
			pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' |
				awk '{print $1}' | sort -V | tail -1)
		fi
		[[ -n $pkg ]] || die "no linux-image-6.1.0-*-cloud-amd64 package in apt"
		deb=$(ls "$LAB_CACHE"/"${pkg}"_*.deb 2>/dev/null | tail -1 || true)
		if [[ -z $deb ]]; then
			log "downloading $pkg"
			(cd "$LAB_CACHE" && apt-get download -qq "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
			deb=$(ls "$LAB_CACHE"/"${pkg}"_*.deb 2>/dev/null | tail -1 || true)
			[[ -n $deb ]] || die "apt-get download $pkg failed"
		fi
		dpkg -x "$deb" "$LAB_CACHE/root"
		vmlinuz=$(ls "$LAB_CACHE"/root/boot/vmlinuz-6.1.0-*-cloud-amd64 | sort -V | tail -1)
	fi
	GUEST_KERNEL_SRC=$vmlinuz
	if ! cmp -s "$vmlinuz" "$GUEST_KERNEL"; then
		cp "$vmlinuz" "$GUEST_KERNEL.tmp"
		mv -f "$GUEST_KERNEL.tmp" "$GUEST_KERNEL"
	fi
}

# build_initramfs: the static Go /init, two kernel modules and
# /dev/console in a gzip newc cpio. The image is rebuilt only when its
# content changes, so running guests (and the QEMU a migration starts on
# the destination) keep seeing the image they booted.
build_initramfs() {
	local go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
	local stage kver m stamp
	stage=$(mktemp -d)
	mkdir -p "$stage"/{dev,proc,sys,tmp,lib/modules}
	(cd "$LAB_SRC" && CGO_ENABLED=0 "$go" build -trimpath -ldflags='-s -w' -o "$stage/init" ./testdata/guest)
	# The ACPI power button and evdev drivers are modules in Debian's
	# cloud kernel; the guest loads them to hear a clean shutdown request.
	kver=$(basename "$GUEST_KERNEL_SRC" | sed 's/^vmlinuz-//')
	for m in kernel/drivers/acpi/button.ko kernel/drivers/input/evdev.ko; do
		cp "$LAB_CACHE/root/lib/modules/$kver/$m" "$stage/lib/modules/"
	done
	stamp=$(cat "$stage/init" "$stage"/lib/modules/*.ko | sha256sum | cut -d' ' -f1)
	if [[ -s $GUEST_INITRD && $(cat "$LAB_DIR/guest/initramfs.stamp" 2>/dev/null) == "$stamp" ]]; then
		rm -rf "$stage"
		return
	fi
	mknod -m 600 "$stage/dev/console" c 5 1
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -n -9 >"$stage.gz"
	rm -rf "$stage"
	mv -f "$stage.gz" "$GUEST_INITRD"
	echo "$stamp" >"$LAB_DIR/guest/initramfs.stamp"
	log "built $GUEST_INITRD"
}

write_host_config() {
	local h=$1 dir addr
	dir=$(host_dir "$h")
	addr=${HOST_ADDR[$h]}
	mkdir -p "$dir"/{etc,lib,run,cache,log}
	if [[ ! -e $dir/etc/.seeded ]]; then
		cp -a /etc/libvirt/. "$dir/etc/"
		# No autostarted networks: the guests have no NIC and there is no
		# dnsmasq/iptables to spare.
		rm -f "$dir"/etc/qemu/networks/autostart/*
		touch "$dir/etc/.seeded"
	fi
	read -r mig_min mig_max <<<"${MIG_PORTS[$h]}"
	read -r dsp_min dsp_max <<<"${DISPLAY_PORTS[$h]}"
	cat >"$dir/etc/libvirtd.conf" <<-CONF
		# vsmig lab host $h (written by testdata/lab/up.sh)
		listen_tls = 0
		listen_tcp = 1
		listen_addr = "$addr"
		tcp_port = "16509"
		auth_tcp = "none"
		auth_unix_rw = "none"
		auth_unix_ro = "none"
		unix_sock_rw_perms = "0770"
		host_uuid = "${HOST_UUID[$h]}"
		log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
	CONF
	cat >"$dir/etc/qemu.conf" <<-CONF
		# vsmig lab host $h (written by testdata/lab/up.sh)
		user = "root"
		group = "root"
		dynamic_ownership = 0
		security_driver = "none"
		namespaces = [ ]
		cgroup_controllers = [ ]
		migration_address = "$addr"
		migration_host = "$addr"
		migration_port_min = $mig_min
		migration_port_max = $mig_max
		remote_display_port_min = $dsp_min
		remote_display_port_max = $dsp_max
		vnc_listen = "$addr"
		spice_listen = "$addr"
	CONF
}

host_up() { virsh -c "$(host_uri "$1")" version >/dev/null 2>&1; }

start_host() {
	local h=$1 dir
	dir=$(host_dir "$h")
	if pid_alive "$dir/libvirtd.pid" && host_up "$h"; then
		log "host $h (${HOST_ADDR[$h]}) already up"
		return
	fi
	stop_pidfile "$dir/libvirtd.pid"
	stop_pidfile "$dir/virtlogd.pid"
	local script="set -e"
	local src
	for src in "${LAB_BINDS[@]}"; do
		local sub
		case $src in
		/etc/libvirt) sub=etc ;; /var/lib/libvirt) sub=lib ;; /run/libvirt) sub=run ;;
		/var/cache/libvirt) sub=cache ;; /var/log/libvirt) sub=log ;;
		esac
		script+="; mkdir -p $src; mount --bind $dir/$sub $src"
	done
	script+="; virtlogd -d -p $dir/virtlogd.pid"
	script+="; libvirtd -d --listen -p $dir/libvirtd.pid"
	log "starting host $h on ${HOST_ADDR[$h]}"
	unshare -m --propagation private bash -c "$script"
}

guest_xml() {
	local name=$1 mem=${VSMIG_LAB_GUEST_MEM:-64M} dirty=${VSMIG_LAB_DIRTY:-64K@10ms}
	cat <<-XML
		<domain type='qemu'>
		  <name>$name</name>
		  <memory unit='MiB'>256</memory>
		  <vcpu>1</vcpu>
		  <os>
		    <type arch='x86_64' machine='pc'>hvm</type>
		    <kernel>$GUEST_KERNEL</kernel>
		    <initrd>$GUEST_INITRD</initrd>
		    <cmdline>console=ttyS0 quiet panic=-1 vsmig.mem=$mem vsmig.dirty=$dirty${VSMIG_LAB_GUEST_ARGS:+ $VSMIG_LAB_GUEST_ARGS}</cmdline>
		  </os>
		  <features><acpi/></features>
		  <clock offset='utc'/>
		  <on_poweroff>destroy</on_poweroff>
		  <on_reboot>restart</on_reboot>
		  <on_crash>destroy</on_crash>
		  <devices>
		    <emulator>/usr/bin/qemu-system-x86_64</emulator>
		    <serial type='file'>
		      <source path='$SERIAL_DIR/$name.log' append='on'/>
		      <target port='0'/>
		    </serial>
		    <memballoon model='none'/>
		  </devices>
		</domain>
	XML
}

has_domain() { virsh_on "$1" dominfo "$2" >/dev/null 2>&1; }
is_running() { [[ $(virsh_on "$1" domstate "$2" 2>/dev/null) == running ]]; }

# heartbeat_after LOG LINES: the log has a heartbeat after its first LINES lines.
heartbeat_after() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null | grep -q '^HB seq='; }

ensure_guest() {
	local name=$1 log=$SERIAL_DIR/$1.log
	if has_domain b "$name"; then
		log "guest $name found on host b: moving it back to host a"
		virsh_on b destroy "$name" >/dev/null 2>&1 || true
		virsh_on b undefine "$name" >/dev/null 2>&1 || true
	fi
	if ! has_domain a "$name"; then
		guest_xml "$name" >"$LAB_DIR/guest/$name.xml"
		virsh_on a define "$LAB_DIR/guest/$name.xml" >/dev/null
	fi
	touch "$log"
	local lines
	lines=$(wc -l <"$log")
	local stamp
	stamp=$(cat "$LAB_DIR/guest/initramfs.stamp")
	if is_running a "$name" && [[ $(cat "$LAB_DIR/guest/$name.stamp" 2>/dev/null) != "$stamp" ]]; then
		log "guest $name runs an older guest image: restarting it"
		virsh_on a destroy "$name" >/dev/null 2>&1 || true
		lines=$(wc -l <"$log")
	fi
	if is_running a "$name"; then
		# Already running: it must still be alive (heartbeat within 5 s).
		if wait_for_quiet 5 "heartbeat" heartbeat_after "$log" "$lines"; then
			log "guest $name already running on host a"
			return
		fi
		log "guest $name runs but has no heartbeat: restarting it"
		virsh_on a destroy "$name" >/dev/null 2>&1 || true
		lines=$(wc -l <"$log")
	fi
	virsh_on a start "$name" >/dev/null
	echo "$stamp" >"$LAB_DIR/guest/$name.stamp"
	log "started guest $name; waiting for its heartbeat in $log"
	wait_for 180 "heartbeat of $name" heartbeat_after "$log" "$lines"
}

wait_for_quiet() { (wait_for "$@") 2>/dev/null; }

main() {
	install_packages
	mkdir -p "$LAB_DIR" "$SERIAL_DIR"
	fetch_kernel
	build_initramfs
	local h
	for h in "${LAB_HOSTS[@]}"; do
		write_host_config "$h"
		start_host "$h"
	done
	for h in "${LAB_HOSTS[@]}"; do
		wait_for 30 "libvirtd of host $h" host_up "$h"
	done
	local n=${VSMIG_LAB_GUEST_COUNT:-2} i names=()
	for ((i = 1; i <= n; i++)); do names+=("vsmig-g$i"); done
	echo "${names[*]}" >"$LAB_DIR/guests"
	for i in "${names[@]}"; do ensure_guest "$i"; done
	log "up: hosts $(host_uri a) and $(host_uri b); guests ${names[*]} on a; . testdata/lab/env.sh"
}

# Sourced (by guest.sh), up.sh only defines its functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
