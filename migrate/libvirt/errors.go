package libvirt

import (
	"errors"
	"fmt"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

// wrapErr names the failed call and, where libvirt's error has a migrate
// meaning, makes it match that sentinel too (errors.Is), keeping libvirt's
// own message.
func wrapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case isCode(err, golibvirt.ErrNoDomain):
		return fmt.Errorf("libvirt: %s: %w: %w", op, migrate.ErrNoDomain, err)
	case isCode(err, golibvirt.ErrOperationUnsupported), isCode(err, golibvirt.ErrNoSupport):
		return fmt.Errorf("libvirt: %s: %w: %w", op, migrate.ErrUnsupported, err)
	}
	return fmt.Errorf("libvirt: %s: %w", op, err)
}

// isCode reports whether err carries libvirt error number code.
func isCode(err error, code golibvirt.ErrorNumber) bool {
	var e golibvirt.Error
	return errors.As(err, &e) && e.Code == uint32(code)
}

// isNotRunning reports libvirt's "domain is not running" (or no job), the
// answer of the source once a migration has handed over.
func isNotRunning(err error) bool {
	return isCode(err, golibvirt.ErrOperationInvalid) || isCode(err, golibvirt.ErrNoDomain)
}

// isRefused reports whether err is libvirt's answer to a call (an error it
// reported), not a failure to reach it.
func isRefused(err error) bool {
	var e golibvirt.Error
	return errors.As(err, &e)
}

// notFound reports libvirt's "no such" answers for the objects the
// storage plan and NIC checks look up (go-libvirt's IsNotFound knows
// domains only).
func notFound(err error) bool {
	for _, c := range []golibvirt.ErrorNumber{golibvirt.ErrNoDomain, golibvirt.ErrNoStoragePool,
		golibvirt.ErrNoStorageVol, golibvirt.ErrNoNetwork, golibvirt.ErrNoInterface} {
		if isCode(err, c) {
			return true
		}
	}
	return false
}
