package fleet

import (
	"context"
	"sync/atomic"

	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// Counter counts what a host asks of etcd: unary requests (Range, Put,
// Txn, Delete, LeaseGrant, ...) and the messages it sends on streams
// (lease keep-alives, watch requests). The benchmark divides them by
// the migrations run.
type Counter struct {
	requests atomic.Int64
	messages atomic.Int64
}

// Requests is the number of unary requests made.
func (c *Counter) Requests() int64 { return c.requests.Load() }

// StreamMessages is the number of messages sent on streams.
func (c *Counter) StreamMessages() int64 { return c.messages.Load() }

func (c *Counter) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	c.requests.Add(1)
	return invoke(ctx, method, req, reply, cc, opts...)
}

func (c *Counter) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return countedStream{s, c}, nil
}

type countedStream struct {
	grpc.ClientStream
	c *Counter
}

func (s countedStream) SendMsg(m any) error {
	s.c.messages.Add(1)
	return s.ClientStream.SendMsg(m)
}

// quietZap silences the etcd client's own logger: the fleet logs what
// matters through slog.
func quietZap() *zap.Logger { return zap.NewNop() }
