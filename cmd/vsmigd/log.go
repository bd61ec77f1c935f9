package main

import (
	"context"
	"log/slog"

	"github.com/vsmig/vsmig/cim"
)

// requestHandler adds the request's MessageID and user to every record
// logged with a request's context (the *Context logging calls), so that all
// lines one WS-Man request causes can be found by its MessageID.
type requestHandler struct{ slog.Handler }

func (h requestHandler) Handle(ctx context.Context, r slog.Record) error {
	if req, ok := cim.RequesterFrom(ctx); ok {
		if req.MessageID != "" {
			r.AddAttrs(slog.String("message_id", req.MessageID))
		}
		if req.User != "" {
			r.AddAttrs(slog.String("user", req.User))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestHandler) WithGroup(name string) slog.Handler {
	return requestHandler{h.Handler.WithGroup(name)}
}
