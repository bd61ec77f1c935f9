// Package auth authenticates the HTTP requests that carry WS-Management
// messages: HTTP Basic against a users file (bcrypt or argon2id hashes),
// TLS client certificates mapped to user names, and a per-address failure
// throttle that slows password guessing.
//
// Password hashes are deliberately slow (bcrypt at the default cost takes
// about 50 ms of CPU), while a WS-Management server must answer thousands
// of requests a second from clients that send the same Authorization
// header on every request. BasicFile therefore caches verified credentials,
// keyed by an HMAC of the header value under a random per-process key, for
// a short time, and drops the cache whenever the users file changes.
//
// Imports: the standard library and golang.org/x/crypto. Never wsman, cim
// or migrate.
package auth
