//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// loadModules loads the kernel modules the initramfs carries in
// /lib/modules, in the order /lib/modules/load lists them (each after
// those it depends on): the ACPI power button and evdev, so a clean
// shutdown request reaches us, and the virtio disk and NIC drivers.
func loadModules() {
	list, err := os.ReadFile("/lib/modules/load")
	if err != nil {
		fmt.Printf("GUEST modules: %v\n", err)
		return
	}
	for _, name := range strings.Fields(string(list)) {
		m := filepath.Join("/lib/modules", name)
		f, err := os.Open(m)
		if err != nil {
			continue
		}
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		if err != nil && err != unix.EEXIST {
			fmt.Printf("GUEST load %s: %v\n", filepath.Base(m), err)
		}
	}
}

// watchPowerButton powers the guest off when the ACPI power button is
// pressed (virsh shutdown, libvirt's DomainShutdown), so Restart
// migrations can be tested.
func watchPowerButton() {
	_ = os.MkdirAll("/dev", 0o755)
	_ = syscall.Mount("devtmpfs", "/dev", "devtmpfs", 0, "")
	devs, _ := filepath.Glob("/dev/input/event*")
	for _, d := range devs {
		f, err := os.Open(d)
		if err != nil {
			continue
		}
		go func() {
			buf := make([]byte, inputEventSize)
			for {
				if _, err := f.Read(buf); err != nil {
					return
				}
				if isPowerPress(buf) {
					fmt.Println("GUEST power button: powering off")
					syscall.Sync()
					_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
				}
			}
		}()
	}
}
