#!/bin/sh
# Entry point of the compose lab's libvirt hosts: libvirtd on TCP 16509 with
# a host UUID of its own (hosts with equal UUIDs refuse to migrate).
set -eu
uuid=$(cat /proc/sys/kernel/random/uuid)
cat > /etc/libvirt/libvirtd.conf <<CONF
listen_tls = 0
listen_tcp = 1
tcp_port = "16509"
auth_tcp = "none"
auth_unix_rw = "none"
host_uuid = "$uuid"
CONF
printf 'user = "root"\ngroup = "root"\nmigration_address = "0.0.0.0"\nmigration_host = "%s"\n' "$(hostname)" > /etc/libvirt/qemu.conf
virtlogd -d
exec libvirtd --listen
