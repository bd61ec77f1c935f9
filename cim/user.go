package cim

import "context"

// Requester identifies the client request an operation serves: the
// authenticated user and the request's message ID (the WS-Addressing
// MessageID for WS-Man). Providers record the user (a job's Owner); log
// handlers add both to every line logged with the request's context.
type Requester struct {
	User      string
	MessageID string
}

type requesterKey struct{}

// WithRequester returns a context that carries r.
func WithRequester(ctx context.Context, r Requester) context.Context {
	return context.WithValue(ctx, requesterKey{}, r)
}

// RequesterFrom returns the Requester stored by WithRequester, if any.
func RequesterFrom(ctx context.Context) (Requester, bool) {
	r, ok := ctx.Value(requesterKey{}).(Requester)
	return r, ok
}

// UserFrom returns the user of the request ctx serves, or "".
func UserFrom(ctx context.Context) string {
	r, _ := RequesterFrom(ctx)
	return r.User
}
