//go:build linux

package main

import (
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// netInterface is the guest's first NIC.
const netInterface = "eth0"

// EchoPort is where the guest answers: every UDP datagram sent there comes
// back as it is, so a probe on the host sees when the guest stops and
// starts answering (the downtime a client of the guest sees).
const EchoPort = 7

// runNet gives eth0 its address and serves the echo.
func runNet(cidr string) {
	if err := configure(netInterface, cidr); err != nil {
		fmt.Printf("GUEST net: %v\n", err)
		return
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: EchoPort})
	if err != nil {
		fmt.Printf("GUEST net: %v\n", err)
		return
	}
	fmt.Printf("GUEST net %s %s, echo on udp/%d\n", netInterface, cidr, EchoPort)
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			fmt.Printf("GUEST net: %v\n", err)
			return
		}
		_, _ = c.WriteToUDP(buf[:n], from)
	}
}

// configure sets the interface's IPv4 address and netmask and brings it
// up, with the ioctls ifconfig uses (the initramfs has no ip(8)). The
// virtio NIC appears once its driver is loaded, so it waits for it.
func configure(name, cidr string) error {
	ip, ipnet, err := net.ParseCIDR(cidr)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr) != nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("no interface %s", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	set := func(req uint, addr net.IP) error {
		r, _ := unix.NewIfreq(name)
		if err := r.SetInet4Addr(addr.To4()); err != nil {
			return err
		}
		return unix.IoctlIfreq(fd, req, r)
	}
	if err := set(unix.SIOCSIFADDR, ip); err != nil {
		return fmt.Errorf("%s address: %w", name, err)
	}
	if err := set(unix.SIOCSIFNETMASK, net.IP(ipnet.Mask)); err != nil {
		return fmt.Errorf("%s netmask: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s up: %w", name, err)
	}
	return nil
}
