package cim

import "context"

type userKey struct{}

// WithUser returns a context that carries the authenticated user on whose
// behalf an operation runs, so that providers can record it (for example
// as a job's Owner) without knowing how the user was authenticated.
func WithUser(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, userKey{}, user)
}

// UserFrom returns the user stored by WithUser, or "".
func UserFrom(ctx context.Context) string {
	u, _ := ctx.Value(userKey{}).(string)
	return u
}
