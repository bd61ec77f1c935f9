package wsbind

import (
	"context"
	"errors"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/wsman"
)

// statusFault is one row of the CIM status to WS-Man fault table.
type statusFault struct {
	subcode, detail string
	// internal faults keep their default reason: the CIM message may
	// carry internals (paths, libvirt errors) and goes to the log instead.
	internal bool
}

// faultOf is the one table from CIM status codes to WS-Man faults (DSP0227
// leaves the mapping to the implementation; this follows openwsman's
// cim_to_wsman_status, see reference/wsman.md §2.3):
//
//   - NOT_FOUND: wsa:DestinationUnreachable, as openwsman does and as
//     Windows reports ERROR_WSMAN_RESOURCE_NOT_FOUND ("cannot find the
//     resource identified by the resource URI and selectors"). Selectors
//     that are formally wrong (missing, unexpected, wrong type) are
//     wsman:InvalidSelectors, decided before the Broker is asked.
//   - INVALID_CLASS: wsa:DestinationUnreachable, detail InvalidResourceURI.
//   - INVALID_NAMESPACE: wsa:DestinationUnreachable (the namespace is part
//     of the address); the reason names the namespace.
//   - NOT_SUPPORTED, METHOD_NOT_FOUND, METHOD_NOT_AVAILABLE:
//     wsa:ActionNotSupported.
//   - INVALID_PARAMETER, NO_SUCH_PROPERTY, TYPE_MISMATCH: wsman:InvalidParameter,
//     detail InvalidValue (openwsman's detail for bad Invoke arguments).
//   - ALREADY_EXISTS: wsman:AlreadyExists; ACCESS_DENIED: wsman:AccessDenied.
//   - INVALID_QUERY, QUERY_LANGUAGE_NOT_SUPPORTED: wsen:CannotProcessFilter.
//   - FAILED and anything else: wsman:InternalError.
func faultOf(s cim.Status) statusFault {
	switch s {
	case cim.StatusNotFound:
		return statusFault{subcode: wsman.SubcodeDestinationUnreachable}
	case cim.StatusInvalidClass:
		return statusFault{subcode: wsman.SubcodeDestinationUnreachable, detail: wsman.DetailInvalidResourceURI}
	case cim.StatusInvalidNamespace:
		return statusFault{subcode: wsman.SubcodeDestinationUnreachable}
	case cim.StatusNotSupported, cim.StatusMethodNotFound, cim.StatusMethodNotAvailable:
		return statusFault{subcode: wsman.SubcodeActionNotSupported}
	case cim.StatusInvalidParameter, cim.StatusNoSuchProperty, cim.StatusTypeMismatch:
		return statusFault{subcode: wsman.SubcodeInvalidParameter, detail: wsman.DetailInvalidValue}
	case cim.StatusAlreadyExists:
		return statusFault{subcode: wsman.SubcodeAlreadyExists}
	case cim.StatusAccessDenied:
		return statusFault{subcode: wsman.SubcodeAccessDenied}
	case cim.StatusInvalidQuery, cim.StatusQueryLanguageNotSupport:
		return statusFault{subcode: wsman.SubcodeCannotProcessFilter}
	}
	return statusFault{subcode: wsman.SubcodeInternalError, internal: true}
}

// toFault turns an error from the Broker into what a wsman resource
// returns: a *wsman.Fault per faultOf, or the context error itself (the
// service answers wsman:TimedOut for a deadline). Errors that are not CIM
// errors are returned unchanged (wsman:InternalError).
func (r *binding) toFault(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var f *wsman.Fault
	if errors.As(err, &f) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	var ce *cim.Error
	if !errors.As(err, &ce) {
		r.log.ErrorContext(ctx, "CIM operation failed", "err", err)
		return err
	}
	if errors.Is(err, cim.ErrInvalidState) {
		// The instance's state forbids the operation for now (a running
		// job cannot be deleted). DSP0226 has no "invalid state" fault;
		// wsman:Concurrency ("could not be completed due to concurrency
		// or locking problems") says that the request is sound and may
		// succeed once the instance's other activity ends, and the reason
		// tells the client what to do.
		f = wsman.NewFault(wsman.SubcodeConcurrency, "", ce.Message)
		f.Err = err
		return f
	}
	row := faultOf(ce.Status)
	reason := ce.Message
	if row.internal {
		r.log.ErrorContext(ctx, "CIM operation failed", "status", int(ce.Status), "err", err)
		reason = ""
	}
	f = wsman.NewFault(row.subcode, row.detail, reason)
	f.Err = err
	return f
}

// filterFault is toFault for errors caused by an enumeration filter: an
// invalid parameter of the filter (a class that does not exist, a role
// that is not a reference) is wsen:CannotProcessFilter.
func (r *binding) filterFault(ctx context.Context, err error) error {
	var ce *cim.Error
	if errors.As(err, &ce) && (ce.Status == cim.StatusInvalidParameter || ce.Status == cim.StatusInvalidClass) {
		f := wsman.NewFault(wsman.SubcodeCannotProcessFilter, "", ce.Message)
		f.Err = err
		return f
	}
	return r.toFault(ctx, err)
}

// cannotProcessFilter is the fault for a filter the binding rejects itself.
func cannotProcessFilter(reason string) error {
	return wsman.NewFault(wsman.SubcodeCannotProcessFilter, "", reason)
}

// invalidSelectors is the wsman:InvalidSelectors fault with detail.
func invalidSelectors(detail, reason string) error {
	return wsman.NewFault(wsman.SubcodeInvalidSelectors, detail, reason)
}
