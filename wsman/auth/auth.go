package auth

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Authenticator establishes who sent an HTTP request.
//
// Authenticate returns the user name on success. It returns an error
// wrapping ErrNoCredentials when the request carries no credentials of the
// kind it understands (so the next Authenticator of a Chain may try), and
// an error wrapping ErrInvalidCredentials when credentials were presented
// but are wrong. Other errors mean the check itself failed (for example an
// unreadable users file). Authenticate must be safe for concurrent use and
// must not read the request body.
type Authenticator interface {
	Authenticate(r *http.Request) (user string, err error)
}

// AuthenticatorFunc adapts a function to the Authenticator interface.
type AuthenticatorFunc func(r *http.Request) (string, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (string, error) { return f(r) }

var (
	// ErrNoCredentials reports a request without credentials the
	// authenticator understands. It is not counted as a failed attempt.
	ErrNoCredentials = errors.New("auth: no credentials")
	// ErrInvalidCredentials reports an unknown user, a wrong password or an
	// unmapped client certificate.
	ErrInvalidCredentials = errors.New("auth: invalid credentials")
	// ErrThrottled reports credentials that were not checked because the
	// client's address spent its budget of failed logins (see Throttle);
	// the error is a *ThrottledError.
	ErrThrottled = errors.New("auth: too many failed logins from this address")
)

// ThrottledError is the error of a check refused by a Throttle.
type ThrottledError struct {
	// RetryAfter is when the address may try again.
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%v; next try allowed in %v", ErrThrottled, e.RetryAfter.Round(time.Second))
}

func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// Chain tries each authenticator in order and returns the first success.
// An authenticator that answers ErrNoCredentials passes the request on;
// any other error ends the chain, so a client that presents a certificate
// which maps to no user is refused rather than silently asked for a
// password. When every authenticator answers ErrNoCredentials, so does the
// chain.
func Chain(as ...Authenticator) Authenticator {
	list := append([]Authenticator(nil), as...)
	return AuthenticatorFunc(func(r *http.Request) (string, error) {
		for _, a := range list {
			user, err := a.Authenticate(r)
			if err == nil {
				return user, nil
			}
			if !errors.Is(err, ErrNoCredentials) {
				return "", err
			}
		}
		return "", ErrNoCredentials
	})
}
