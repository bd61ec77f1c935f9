package wsman

import (
	"context"
	"net"
	"time"
)

// PushDialerForTest is the dialer a Service's delivery client uses with pt.
func PushDialerForTest(pt *PushTargets) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return pt.dialer(5 * time.Second)
}

// ErrPushTargetForTest is the error of a connection the dialer refused.
var ErrPushTargetForTest = errPushTarget
