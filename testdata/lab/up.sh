#!/usr/bin/env bash
# Brings up the libvirt lab (see README.md): three libvirtd+virtlogd pairs
# on 127.0.0.2 (host a), 127.0.0.3 (host b) and 127.0.0.5 (host c; the
# stock flavour on 127.0.0.12, .13 and .15), each in its own mount
# namespace, and N TCG guests running on host a. Runs as root on Debian 12
# with no systemd. Idempotent: what is already up is left as is, guests
# found on another host are moved back to host a.
#
# Environment: VSMIG_LAB_DIR (state, default /var/lib/vsmig-lab),
# VSMIG_LAB_CACHE (kernel download, default /var/cache/vsmig-lab),
# VSMIG_LAB_GUEST_COUNT (number of guests, default 2), VSMIG_LAB_DIRTY (guest
# dirtying pace, default 64K@10ms), VSMIG_LAB_GUEST_MEM (checked region,
# default 64M).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../ci/apt.sh"

[[ $(id -u) == 0 ]] || die "must run as root"

# install_packages [EXTRA...]: the lab's Debian packages (and EXTRA ones),
# QEMU and libvirt from Debian 12's backports suite (added to apt's sources
# if missing); those installed at an older version (Debian 12's own QEMU
# and libvirt) are upgraded.
install_packages() {
	local missing outdated
	mapfile -t missing < <(apt_missing "${LAB_PACKAGES[@]}" "$@")
	if ((${#missing[@]})); then
		log "installing ${missing[*]}"
		apt_update
		apt_install "${missing[@]}" || die "apt-get install ${missing[*]} failed"
	fi
	apt_enable_backports
	mapfile -t outdated < <(apt_outdated "$BACKPORTS" "${LAB_BACKPORTS_PACKAGES[@]}")
	if ((${#outdated[@]})); then
		log "installing ${LAB_BACKPORTS_PACKAGES[*]} from $BACKPORTS"
		apt_install -t "$BACKPORTS" "${LAB_BACKPORTS_PACKAGES[@]}" || die "apt-get install -t $BACKPORTS failed"
	fi
}

# make_stock_root: the stock flavour's Debian 12 root with its own QEMU
# and libvirt, made once with debootstrap from the machine's Debian mirror
# and kept in the cache (down.sh --purge removes it).
make_stock_root() {
	[[ -n $LAB_ROOT ]] || return 0
	[[ -e $LAB_ROOT/.vsmig-complete ]] && return
	local mirror
	mirror=$(apt_mirror)
	log "making the stock root $LAB_ROOT (debootstrap bookworm from $mirror; a few minutes)"
	rm -rf "$LAB_ROOT.tmp"
	mkdir -p "$LAB_CACHE"
	debootstrap --variant=minbase --include="$STOCK_ROOT_PACKAGES" bookworm "$LAB_ROOT.tmp" \
		"$mirror" >"$LAB_CACHE/debootstrap.log" 2>&1 ||
		die "debootstrap failed, see $LAB_CACHE/debootstrap.log"
	# The users and groups libvirt-daemon-system would make: the QEMU
	# driver looks its default user up at start, even where qemu.conf
	# names root.
	chroot "$LAB_ROOT.tmp" groupadd -r kvm
	chroot "$LAB_ROOT.tmp" groupadd -r libvirt
	chroot "$LAB_ROOT.tmp" groupadd -r libvirt-qemu
	chroot "$LAB_ROOT.tmp" useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
	touch "$LAB_ROOT.tmp/.vsmig-complete"
	rm -rf "$LAB_ROOT"
	mv "$LAB_ROOT.tmp" "$LAB_ROOT"
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
	# Modules of Debian's cloud kernel, from the same package, that the
	# guest loads in this order (each after those it depends on): the ACPI
	# power button and evdev to hear a clean shutdown request, the virtio
	# PCI transport, disk and NIC drivers.
	kver=$(basename "$GUEST_KERNEL_SRC" | sed 's/^vmlinuz-//')
	local load=()
	for m in acpi/button input/evdev virtio/virtio_ring virtio/virtio virtio/virtio_pci_legacy_dev \
		virtio/virtio_pci_modern_dev virtio/virtio_pci block/virtio_blk ../net/core/failover \
		net/net_failover net/virtio_net; do
		cp "$LAB_CACHE/root/lib/modules/$kver/kernel/drivers/$m.ko" "$stage/lib/modules/"
		load+=("${m##*/}.ko")
	done
	echo "${load[*]}" >"$stage/lib/modules/load"
	stamp=$(cat "$stage/init" "$stage"/lib/modules/* | sha256sum | cut -d' ' -f1)
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

# quietly COMMAND...: run COMMAND, showing its output only if it fails
# (openssl and ssh-keygen chatter on stderr).
quietly() {
	local out
	out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
}

# install_file SRC DST MODE: copy SRC to DST unless DST already has its
# content, so re-runs touch nothing.
install_file() {
	cmp -s "$1" "$2" && return
	install -m "$3" "$1" "$2.tmp"
	mv -f "$2.tmp" "$2"
}

# issue_cert DIR NAME SUBJECT EKU [SAN]: DIR/NAME.pem and DIR/NAME-key.pem,
# a certificate of the lab CA for EKU (serverAuth, clientAuth or both)
# with the key usages libvirt and QEMU insist on. An existing certificate
# the CA verifies is kept.
issue_cert() {
	local dir=$1 name=$2 subj=$3 eku=$4 san=${5:-} ca=$PKI_DIR/ca
	if [[ -s $dir/$name.pem && -s $dir/$name-key.pem ]] &&
		openssl verify -CAfile "$ca/cacert.pem" "$dir/$name.pem" >/dev/null 2>&1; then
		return
	fi
	mkdir -p "$dir"
	local cnf=$dir/$name.cnf
	cat >"$cnf" <<-CNF
		[req]
		distinguished_name = dn
		[dn]
		[ext]
		basicConstraints = critical, CA:FALSE
		keyUsage = critical, digitalSignature, keyEncipherment
		extendedKeyUsage = $eku
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
		${san:+subjectAltName = $san}
	CNF
	quietly openssl req -new -newkey rsa:2048 -nodes -subj "$subj" -config "$cnf" \
		-keyout "$dir/$name-key.pem" -out "$dir/$name.csr"
	quietly openssl x509 -req -in "$dir/$name.csr" -CA "$ca/cacert.pem" -CAkey "$ca/cakey.pem" \
		-set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 \
		-extfile "$cnf" -extensions ext -out "$dir/$name.pem"
	rm -f "$cnf" "$dir/$name.csr"
	chmod 600 "$dir/$name-key.pem"
	log "issued $dir/$name.pem ($subj)"
}

# make_pki: the lab's TLS material, made once and kept while valid: a CA;
# per host one certificate (SAN its address, serverAuth and clientAuth),
# libvirtd's server certificate and the client certificate of its
# outgoing peer-to-peer connections alike, and QEMU's for a TLS migration
# stream; and a client certificate for the tests and vsmigd, laid out as
# a pkipath= directory. Per host, pki/CA and pki/libvirt are bound over
# /etc/pki/CA and /etc/pki/libvirt (LAB_BINDS); pki/qemu is named in
# qemu.conf.
make_pki() {
	local ca=$PKI_DIR/ca
	mkdir -p "$ca"
	chmod 700 "$ca"
	if [[ ! -s $ca/cacert.pem || ! -s $ca/cakey.pem ]]; then
		cat >"$ca/ca.cnf" <<-CNF
			[req]
			distinguished_name = dn
			[dn]
			[ext]
			basicConstraints = critical, CA:TRUE
			keyUsage = critical, keyCertSign, cRLSign
			subjectKeyIdentifier = hash
		CNF
		quietly openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 \
			-subj "/O=vsmig lab/CN=vsmig lab CA" -config "$ca/ca.cnf" -extensions ext \
			-keyout "$ca/cakey.pem" -out "$ca/cacert.pem"
		rm -f "$ca/ca.cnf"
		log "made the lab CA $ca/cacert.pem"
	fi
	issue_cert "$ca/issued" client "/O=vsmig lab/CN=vsmig lab client" clientAuth
	mkdir -p "$CLIENT_PKI"
	install_file "$ca/cacert.pem" "$CLIENT_PKI/cacert.pem" 644
	install_file "$ca/issued/client.pem" "$CLIENT_PKI/clientcert.pem" 644
	install_file "$ca/issued/client-key.pem" "$CLIENT_PKI/clientkey.pem" 600
	local h dir addr cert key
	for h in "${LAB_HOSTS[@]}"; do
		dir=$(host_dir "$h")/pki
		addr=${HOST_ADDR[$h]}
		issue_cert "$ca/issued" "host-$h" "/O=vsmig lab/CN=$addr" "serverAuth, clientAuth" "IP:$addr"
		cert=$ca/issued/host-$h.pem key=$ca/issued/host-$h-key.pem
		mkdir -p "$dir"/{CA,libvirt/private,qemu}
		install_file "$ca/cacert.pem" "$dir/CA/cacert.pem" 644
		install_file "$cert" "$dir/libvirt/servercert.pem" 644
		install_file "$cert" "$dir/libvirt/clientcert.pem" 644
		install_file "$key" "$dir/libvirt/private/serverkey.pem" 600
		install_file "$key" "$dir/libvirt/private/clientkey.pem" 600
		install_file "$ca/cacert.pem" "$dir/qemu/ca-cert.pem" 644
		install_file "$cert" "$dir/qemu/server-cert.pem" 644
		install_file "$cert" "$dir/qemu/client-cert.pem" 644
		install_file "$key" "$dir/qemu/server-key.pem" 600
		install_file "$key" "$dir/qemu/client-key.pem" 600
	done
}

# port_open ADDR PORT: something accepts connections there (bash's
# /dev/tcp, as iproute2 is not in every Debian base image).
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# ssh_port: the lab sshd port, chosen once: 22 unless something listened
# on it then (a system sshd on 0.0.0.0:22 makes 127.0.0.x:22 unbindable).
ssh_port() {
	if [[ ! -s $SSH_DIR/port ]]; then
		local p=22 h
		for h in "${LAB_HOSTS[@]}"; do
			! port_open "${HOST_ADDR[$h]}" 22 || p=16522
		done
		echo "$p" >"$SSH_DIR/port"
	fi
	cat "$SSH_DIR/port"
}

# make_ssh: the client key (root's authorized key on every lab host), the
# hosts' keys and a known_hosts file for them, made once.
make_ssh() {
	mkdir -p "$SSH_DIR"
	chmod 700 "$SSH_DIR"
	[[ -s $SSH_KEY ]] || quietly ssh-keygen -q -t ed25519 -N '' -C 'vsmig lab client' -f "$SSH_KEY"
	install_file "$SSH_KEY.pub" "$SSH_DIR/authorized_keys" 600
	local port h dir hk known
	port=$(ssh_port)
	known=$(mktemp)
	for h in "${LAB_HOSTS[@]}"; do
		dir=$(host_dir "$h")/ssh
		mkdir -p "$dir"
		chmod 700 "$dir"
		hk=$dir/ssh_host_ed25519_key
		[[ -s $hk ]] || quietly ssh-keygen -q -t ed25519 -N '' -C "vsmig lab host $h" -f "$hk"
		if [[ $port == 22 ]]; then
			printf '%s %s\n' "${HOST_ADDR[$h]}" "$(cut -d' ' -f1,2 "$hk.pub")"
		else
			printf '[%s]:%s %s\n' "${HOST_ADDR[$h]}" "$port" "$(cut -d' ' -f1,2 "$hk.pub")"
		fi >>"$known"
	done
	install_file "$known" "$SSH_DIR/known_hosts" 644
	rm -f "$known"
}

# write_sshd_config HOST: an sshd for root with the lab key only. go-libvirt's
# SSH dialer opens a direct-streamlocal channel to libvirt-sock, which
# needs AllowStreamLocalForwarding and, as sshd gates all local forwarding
# on it, AllowTcpForwarding too: "local" for both, no remote forwarding.
write_sshd_config() {
	local h=$1 dir
	dir=$(host_dir "$h")
	cat >"$dir/ssh/sshd_config" <<-CONF
		# vsmig lab host $h (written by testdata/lab/up.sh)
		ListenAddress ${HOST_ADDR[$h]}:$(ssh_port)
		HostKey $dir/ssh/ssh_host_ed25519_key
		PidFile $dir/sshd.pid
		AuthorizedKeysFile $SSH_DIR/authorized_keys
		PermitRootLogin prohibit-password
		AllowUsers root
		AuthenticationMethods publickey
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		AllowStreamLocalForwarding local
		AllowTcpForwarding local
		AllowAgentForwarding no
		X11Forwarding no
		PrintMotd no
	CONF
}

write_host_config() {
	local h=$1 dir addr
	dir=$(host_dir "$h")
	addr=${HOST_ADDR[$h]}
	mkdir -p "$dir"/{etc,lib,run,cache,log}
	if [[ ! -e $dir/etc/.seeded ]]; then
		# The flavour's own defaults (the stock root has none: its
		# libvirt 9.0 runs on built-in defaults besides the two files
		# written below).
		[[ ! -d $LAB_ROOT/etc/libvirt ]] || cp -a "$LAB_ROOT"/etc/libvirt/. "$dir/etc/"
		# No autostarted networks: the guests have no NIC and there is no
		# dnsmasq/iptables to spare.
		rm -f "$dir"/etc/qemu/networks/autostart/*
		touch "$dir/etc/.seeded"
	fi
	read -r mig_min mig_max <<<"${MIG_PORTS[$h]}"
	read -r dsp_min dsp_max <<<"${DISPLAY_PORTS[$h]}"
	cat >"$dir/etc/libvirtd.conf" <<-CONF
		# vsmig lab host $h (written by testdata/lab/up.sh)
		listen_tls = 1
		listen_tcp = 1
		listen_addr = "$addr"
		tcp_port = "16509"
		tls_port = "$TLS_PORT"
		auth_tcp = "none"
		auth_tls = "none"
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
		default_tls_x509_cert_dir = "$dir/pki/qemu"
	CONF
	# The shared disks' directory is on the machine's own filesystem, seen
	# by both hosts at one path: tell libvirt (10.3 and later) it is
	# shared, as it would be over NFS, so it migrates such disks without
	# copying them.
	[[ -n $LAB_ROOT ]] || printf 'shared_filesystems = [ "%s" ]\n' "$SHARED_DIR" >>"$dir/etc/qemu.conf"
}

host_up() { virsh -c "$(host_uri "$1")" version >/dev/null 2>&1; }
tls_up() { virsh -c "$(host_tls_uri "$1")" version >/dev/null 2>&1; }

# host_stamp HOST: what a running libvirtd of HOST must have started with
# to be current: its configuration, certificates and bind mounts.
host_stamp() {
	local dir
	dir=$(host_dir "$1")
	{
		cat "$dir/etc/libvirtd.conf" "$dir/etc/qemu.conf" "$dir/pki/CA/cacert.pem" \
			"$dir/pki/libvirt/servercert.pem" "$dir/pki/qemu/server-cert.pem"
		echo "${LAB_BINDS[*]}"
	} | sha256sum | cut -d' ' -f1
}

# make_bind_targets: create the LAB_BINDS targets missing on this machine
# (a mount needs one), noting each directory made so down.sh can remove
# it again.
make_bind_targets() {
	local src d
	for src in "${LAB_BINDS[@]}"; do
		d=$src
		local made=()
		while [[ ! -e $d ]]; do
			made=("$d" "${made[@]}")
			d=$(dirname "$d")
		done
		((${#made[@]})) || continue
		mkdir -p "$src"
		printf '%s\n' "${made[@]}" >>"$MADE_DIRS"
	done
}

# bind_script HOST: shell commands that bind HOST's directories over
# LAB_BINDS in the current mount namespace, skipping those already bound.
bind_script() {
	local dir src script="set -e"
	dir=$(host_dir "$1")
	for src in "${LAB_BINDS[@]}"; do
		script+="; [[ $src -ef $dir/$(bind_sub "$src") ]] || mount --bind $dir/$(bind_sub "$src") $src"
	done
	printf '%s' "$script"
}

# same_ns PID1 PID2: the two processes share a mount namespace.
same_ns() { [[ $(readlink "/proc/$1/ns/mnt") == "$(readlink "/proc/$2/ns/mnt")" ]]; }

# root_script: for the stock flavour, shell commands that prepare its root
# for the hosts' daemons in the current (private) mount namespace: the
# machine's /dev, /proc and /sys, a /run of its own, the lab directory at
# its own path (pid files, guest image, serial logs, certificates) and the
# bind targets of LAB_BINDS. Nothing for the current flavour.
root_script() {
	[[ -n $LAB_ROOT ]] || return 0
	local r=$LAB_ROOT t script="set -e"
	script+="; mount --rbind /dev $r/dev; mount -t proc proc $r/proc; mount --rbind /sys $r/sys"
	script+="; mount -t tmpfs -o mode=0755 tmpfs $r/run"
	script+="; mkdir -p $r$LAB_DIR; mount --bind $LAB_DIR $r$LAB_DIR"
	for t in "${LAB_BINDS[@]}"; do script+="; mkdir -p $r$t"; done
	printf '%s' "$script"
}

# start_daemons HOST: HOST's virtlogd and libvirtd, in a new private mount
# namespace with HOST's directories bound over LAB_BINDS (and, for the
# stock flavour, chrooted into its root). Both daemonize; detached keeps
# them off this script's descriptors.
start_daemons() {
	local h=$1 dir cmds
	dir=$(host_dir "$h")
	cmds="$(bind_script "$h"); virtlogd -d -p $dir/virtlogd.pid; libvirtd -d --listen -p $dir/libvirtd.pid"
	if [[ -n $LAB_ROOT ]]; then
		cmds="$(root_script); exec chroot $LAB_ROOT /bin/bash -c '$cmds'"
	fi
	detached "$dir/daemons.log" unshare -m --propagation private bash -c "$cmds"
}

start_host() {
	local h=$1 dir stamp
	dir=$(host_dir "$h")
	stamp=$(host_stamp "$h")
	[[ -n $LAB_ROOT ]] || make_bind_targets
	if pid_alive "$dir/libvirtd.pid" && host_up "$h"; then
		if [[ $(cat "$dir/libvirtd.stamp" 2>/dev/null) == "$stamp" ]]; then
			log "host $h (${HOST_ADDR[$h]}) already up"
			return
		fi
		# Started with another configuration (or by an up.sh without TLS):
		# restart libvirtd alone, in its namespace, which virtlogd keeps.
		# Running guests stay: the new libvirtd reconnects to their QEMU,
		# and their serial logs go on through the same virtlogd.
		if pid_alive "$dir/virtlogd.pid" && same_ns "$(cat "$dir/virtlogd.pid")" "$(cat "$dir/libvirtd.pid")"; then
			log "host $h: configuration changed, restarting its libvirtd (guests keep running)"
			local ns
			ns=$(cat "$dir/virtlogd.pid")
			stop_pidfile "$dir/libvirtd.pid"
			detached "$dir/daemons.log" in_host "$ns" bash -c "$(bind_script "$h"); libvirtd -d --listen -p $dir/libvirtd.pid"
			echo "$stamp" >"$dir/libvirtd.stamp"
			return
		fi
	fi
	stop_pidfile "$dir/libvirtd.pid"
	stop_pidfile "$dir/virtlogd.pid"
	log "starting host $h on ${HOST_ADDR[$h]} ($LAB_FLAVOUR: $(lab_versions))"
	start_daemons "$h"
	echo "$stamp" >"$dir/libvirtd.stamp"
}

# lab_versions: the flavour's QEMU and libvirt versions, as packaged.
lab_versions() {
	local q l
	if [[ -n $LAB_ROOT ]]; then
		q=$(chroot "$LAB_ROOT" dpkg-query -W -f='${Version}' qemu-system-x86)
		l=$(chroot "$LAB_ROOT" dpkg-query -W -f='${Version}' libvirt-daemon)
	else
		q=$(dpkg-query -W -f='${Version}' qemu-system-x86)
		l=$(dpkg-query -W -f='${Version}' libvirt-daemon)
	fi
	printf 'QEMU %s, libvirt %s' "$q" "$l"
}

# start_sshd HOST: HOST's sshd, in the mount namespace of its libvirtd so
# that the default /run/libvirt/libvirt-sock is HOST's. One that runs in
# that namespace with the current configuration is left alone.
start_sshd() {
	[[ -z $LAB_ROOT ]] || return 0 # no sshd in the stock lab
	local h=$1 dir lpid stamp
	dir=$(host_dir "$h")
	lpid=$(cat "$dir/libvirtd.pid")
	stamp=$(cat "$dir/ssh/sshd_config" "$dir/ssh/ssh_host_ed25519_key" | sha256sum | cut -d' ' -f1)
	if pid_alive "$dir/sshd.pid" && same_ns "$(cat "$dir/sshd.pid")" "$lpid" &&
		[[ $(cat "$dir/sshd.stamp" 2>/dev/null) == "$stamp" ]]; then
		return
	fi
	stop_pidfile "$dir/sshd.pid"
	log "starting sshd of host $h on ${HOST_ADDR[$h]}:$(ssh_port)"
	# sshd insists on its privilege separation directory, in the shared /run.
	mkdir -p -m 0755 /run/sshd
	detached "$dir/daemons.log" nsenter -m -t "$lpid" /usr/sbin/sshd -f "$dir/ssh/sshd_config" -E "$dir/ssh/sshd.log"
	echo "$stamp" >"$dir/sshd.stamp"
}

# ssh_up HOST: HOST's sshd lets the lab key in, with its known host key,
# and the session runs in HOST's namespace (it sees HOST's libvirt-sock).
ssh_up() {
	local dir
	dir=$(host_dir "$1")
	ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$SSH_DIR/known_hosts" \
		-o ConnectTimeout=5 -i "$SSH_KEY" -p "$(ssh_port)" "root@${HOST_ADDR[$1]}" \
		"test /run/libvirt/libvirt-sock -ef $dir/run/libvirt-sock"
}

# make_bridge: the Linux bridge of the guests' network, on the machine,
# with the machine's address on it (the probe's side of the network).
make_bridge() {
	if ! ip link show "$LAB_BRIDGE" >/dev/null 2>&1; then
		ip link add "$LAB_BRIDGE" type bridge
		log "made the bridge $LAB_BRIDGE ($LAB_SUBNET.1/24)"
	fi
	ip addr replace "$LAB_SUBNET.1/24" dev "$LAB_BRIDGE"
	ip link set "$LAB_BRIDGE" up
}

# define_host_resources HOST: the libvirt network and storage pools every
# host has: LAB_NETWORK forwarding to the bridge (no DHCP: guests have
# fixed addresses), and the pools of LAB_POOL_* (libvirt creates a
# missing disk of a migrating VM in the destination's pool of its
# directory). Left alone where they are defined and active.
define_host_resources() {
	local h=$1 f
	f=$(mktemp)
	if ! virsh_on "$h" net-info "$LAB_NETWORK" >/dev/null 2>&1; then
		printf "<network><name>%s</name><forward mode='bridge'/><bridge name='%s'/></network>\n" \
			"$LAB_NETWORK" "$LAB_BRIDGE" >"$f"
		virsh_on "$h" net-define "$f" >/dev/null
		virsh_on "$h" net-autostart "$LAB_NETWORK" >/dev/null
	fi
	[[ $(virsh_on "$h" net-info "$LAB_NETWORK" | awk '/^Active:/ {print $2}') == yes ]] ||
		virsh_on "$h" net-start "$LAB_NETWORK" >/dev/null
	local pool dir
	for pool in "$LAB_POOL_LOCAL:$LAB_IMAGES" "$LAB_POOL_ALT:$LAB_ALT_IMAGES" "$LAB_POOL_SHARED:$SHARED_DIR"; do
		dir=${pool#*:} pool=${pool%%:*}
		if [[ $dir == "$SHARED_DIR" ]]; then mkdir -p "$dir"; else mkdir -p "$(host_path "$h" "$dir")"; fi
		if ! virsh_on "$h" pool-info "$pool" >/dev/null 2>&1; then
			printf "<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>\n" "$pool" "$dir" >"$f"
			virsh_on "$h" pool-define "$f" >/dev/null
			virsh_on "$h" pool-autostart "$pool" >/dev/null
		fi
		[[ $(virsh_on "$h" pool-info "$pool" | awk '/^State:/ {print $2}') == running ]] ||
			virsh_on "$h" pool-start "$pool" >/dev/null
	done
	rm -f "$f"
}

# guest_xml NAME: the domain of a lab guest. Its workload and devices come
# from the environment: VSMIG_LAB_GUEST_MEM and VSMIG_LAB_DIRTY (memory
# region and pace), VSMIG_LAB_GUEST_DISK (none, local: a qcow2 in the host's
# own images directory, shared: one in the shared directory, or
# block:/dev/DEVICE: a raw block device of the machine),
# VSMIG_LAB_GUEST_DISKW (the pace of its disk records), VSMIG_LAB_GUEST_NIC
# (an address for a virtio NIC on the lab network), VSMIG_LAB_GUEST_ARGS.
guest_xml() {
	local name=$1 mem=${VSMIG_LAB_GUEST_MEM:-64M} dirty=${VSMIG_LAB_DIRTY:-$LAB_DEFAULT_DIRTY} args=${VSMIG_LAB_GUEST_ARGS:-}
	local disk=${VSMIG_LAB_GUEST_DISK:-none} ip=${VSMIG_LAB_GUEST_NIC:-} devices=
	# QEMU 7.2 (stock) can lose a TCG guest's stores while migrating; the
	# guest's TLB flusher narrows that window (see README.md). QEMU 10 needs
	# no workaround.
	[[ -z $LAB_ROOT ]] || args="vsmig.flush=1ms${args:+ $args}"
	if [[ $disk == block:* ]]; then
		# A raw block device of the host (a disk vsmig cannot move).
		args+=" vsmig.disk=4M vsmig.diskw=${VSMIG_LAB_GUEST_DISKW:-64K@100ms}"
		devices+="
		    <disk type='block' device='disk'>
		      <driver name='qemu' type='raw' cache='none'/>
		      <source dev='$(guest_disk_path "$name" "$disk")'/>
		      <target dev='vda' bus='virtio'/>
		    </disk>"
	elif [[ $disk != none ]]; then
		args+=" vsmig.disk=16M vsmig.diskw=${VSMIG_LAB_GUEST_DISKW:-64K@100ms}"
		devices+="
		    <disk type='file' device='disk'>
		      <driver name='qemu' type='qcow2' cache='none'/>
		      <source file='$(guest_disk_path "$name" "$disk")'/>
		      <target dev='vda' bus='virtio'/>
		    </disk>"
	fi
	if [[ -n $ip ]]; then
		args+=" vsmig.ip=$ip/24"
		devices+="
		    <interface type='network'>
		      <source network='$LAB_NETWORK'/>
		      <mac address='$(guest_mac "$ip")'/>
		      <model type='virtio'/>
		    </interface>"
	fi
	cat <<-XML
		<domain type='qemu'>
		  <name>$name</name>
		  <memory unit='MiB'>256</memory>
		  <vcpu>1</vcpu>
		  <os>
		    <type arch='x86_64' machine='pc'>hvm</type>
		    <kernel>$GUEST_KERNEL</kernel>
		    <initrd>$GUEST_INITRD</initrd>
		    <cmdline>console=ttyS0 quiet panic=-1 vsmig.mem=$mem vsmig.dirty=$dirty${args:+ ${args# }}</cmdline>
		  </os>
		  <features><acpi/></features>
		  <clock offset='utc'/>
		  <on_poweroff>destroy</on_poweroff>
		  <on_reboot>restart</on_reboot>
		  <on_crash>destroy</on_crash>
		  <devices>
		    <emulator>/usr/bin/qemu-system-x86_64</emulator>$devices
		    <serial type='file'>
		      <source path='$SERIAL_DIR/$name.log' append='on'/>
		      <target port='0'/>
		    </serial>
		    <memballoon model='none'/>
		  </devices>
		</domain>
	XML
}

# guest_disk_path NAME KIND: the path a guest's disk has in the hosts'
# namespaces: local disks in the host's images directory, shared ones in
# the shared directory.
guest_disk_path() {
	case $2 in
	local) printf '%s/%s.qcow2' "$LAB_IMAGES" "$1" ;;
	shared) printf '%s/%s.qcow2' "$SHARED_DIR" "$1" ;;
	block:/dev/*) printf '%s' "${2#block:}" ;;
	*) die "guest disk $2: want none, local, shared or block:/dev/DEVICE" ;;
	esac
}

# make_guest_disk NAME KIND: a fresh qcow2 for the guest on host A, 64 MiB
# (VSMIG_LAB_GUEST_DISK_SIZE) and empty (or VSMIG_LAB_GUEST_DISK_FILL
# bytes written); the guest starts over on it; a local copy left on B is
# removed.
make_guest_disk() {
	local name=$1 kind=$2 path
	[[ $kind != none && $kind != block:* ]] || return 0
	path=$(guest_disk_path "$name" "$kind")
	if [[ $kind == local ]]; then
		local h
		for h in "${LAB_HOSTS[@]}"; do
			[[ $h == a ]] || rm -f "$(host_path "$h" "$path")"
		done
		path=$(host_path a "$path")
	fi
	mkdir -p "$(dirname "$path")"
	quietly qemu-img create -q -f qcow2 "$path" "${VSMIG_LAB_GUEST_DISK_SIZE:-64M}"
	# VSMIG_LAB_GUEST_DISK_FILL: data beyond the guest's records (which
	# use the first 16 MiB), so that a copy has that much to send.
	if [[ -n ${VSMIG_LAB_GUEST_DISK_FILL:-} ]]; then
		quietly qemu-io -f qcow2 -c "write -P 0x5a 16M $VSMIG_LAB_GUEST_DISK_FILL" "$path"
	fi
}

# guest_address NAME: the guest's address on the lab network, given once
# per name (from .11 on) and kept in GUEST_ADDRS.
guest_address() {
	local name=$1 n=11 ip
	touch "$GUEST_ADDRS"
	ip=$(awk -v n="$name" '$1 == n {print $2}' "$GUEST_ADDRS")
	if [[ -z $ip ]]; then
		while grep -q " $LAB_SUBNET.$n\$" "$GUEST_ADDRS"; do ((n++)); done
		((n < 255)) || die "no address left on $LAB_SUBNET.0/24"
		ip=$LAB_SUBNET.$n
		echo "$name $ip" >>"$GUEST_ADDRS"
	fi
	echo "$ip"
}

# guest_mac IP: a fixed, locally administered MAC for the guest at IP.
guest_mac() {
	local o d
	IFS=. read -r _ _ o d <<<"$1"
	printf '52:54:00:d5:%02x:%02x' "$o" "$d"
}

has_domain() { virsh_on "$1" dominfo "$2" >/dev/null 2>&1; }
is_running() { [[ $(virsh_on "$1" domstate "$2" 2>/dev/null) == running ]]; }

# heartbeat_after LOG LINES: the log has a heartbeat after its first LINES lines.
heartbeat_after() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null | grep -q '^HB seq='; }

ensure_guest() {
	local name=$1 log=$SERIAL_DIR/$1.log
	local h
	for h in "${LAB_HOSTS[@]}"; do
		[[ $h != a ]] && has_domain "$h" "$name" || continue
		log "guest $name found on host $h: moving it back to host a"
		virsh_on "$h" destroy "$name" >/dev/null 2>&1 || true
		virsh_on "$h" undefine "$name" >/dev/null 2>&1 || true
	done
	if [[ -n ${VSMIG_LAB_GUEST_NIC:-} ]]; then
		VSMIG_LAB_GUEST_NIC=$(guest_address "$name")
	fi
	# A guest defined otherwise than asked (by an older up.sh, or with
	# other devices) is defined anew.
	local want=$LAB_DIR/guest/$name.xml.new
	guest_xml "$name" >"$want"
	if has_domain a "$name" && ! cmp -s "$want" "$LAB_DIR/guest/$name.xml"; then
		log "guest $name is defined otherwise than asked: defining it anew"
		virsh_on a destroy "$name" >/dev/null 2>&1 || true
		virsh_on a undefine "$name" >/dev/null 2>&1 || true
	fi
	if ! has_domain a "$name"; then
		make_guest_disk "$name" "${VSMIG_LAB_GUEST_DISK:-none}"
		mv -f "$want" "$LAB_DIR/guest/$name.xml"
		virsh_on a define "$LAB_DIR/guest/$name.xml" >/dev/null
	fi
	rm -f "$want"
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
	make_stock_root
	mkdir -p "$LAB_DIR" "$SERIAL_DIR" "$SHARED_DIR"
	echo "$LAB_FLAVOUR" >"$LAB_DIR/flavour"
	fetch_kernel
	build_initramfs
	make_pki
	# The stock lab has no sshd: it would have to run in the stock root.
	local ssh=
	[[ -n $LAB_ROOT ]] || ssh=1
	[[ -z $ssh ]] || make_ssh
	local h
	for h in "${LAB_HOSTS[@]}"; do
		write_host_config "$h"
		[[ -z $ssh ]] || write_sshd_config "$h"
		start_host "$h"
	done
	make_bridge
	for h in "${LAB_HOSTS[@]}"; do
		wait_for 30 "libvirtd of host $h" host_up "$h"
		wait_for 30 "libvirtd of host $h over TLS" tls_up "$h"
		define_host_resources "$h"
		[[ -z $ssh ]] && continue
		start_sshd "$h"
		wait_for 30 "sshd of host $h" ssh_up "$h"
	done
	local n=${VSMIG_LAB_GUEST_COUNT:-2} i names=()
	for ((i = 1; i <= n; i++)); do names+=("vsmig-g$i"); done
	echo "${names[*]}" >"$LAB_DIR/guests"
	for i in "${names[@]}"; do
		# Real VMs in the current flavour: the first guest has a local
		# disk, the second a shared one, both a NIC on the lab network.
		# (The stock flavour's libvirt 9.0 has no shared_filesystems: its
		# guests stay memory only.)
		local disk=none nic=
		if [[ -z $LAB_ROOT ]]; then
			nic=1
			case $i in vsmig-g1) disk=local ;; vsmig-g2) disk=shared ;; esac
		fi
		VSMIG_LAB_GUEST_DISK=${VSMIG_LAB_GUEST_DISK:-$disk} VSMIG_LAB_GUEST_NIC=${VSMIG_LAB_GUEST_NIC-$nic} ensure_guest "$i"
	done
	log "up ($LAB_FLAVOUR: $(lab_versions)): hosts $(host_uri a), $(host_uri b) and $(host_uri c) (also qemu+tls${ssh:+, qemu+ssh}); guests ${names[*]} on a; VSMIG_LAB_FLAVOUR=$LAB_FLAVOUR . testdata/lab/env.sh"
}

# Sourced (by guest.sh), up.sh only defines its functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
