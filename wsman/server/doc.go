// Package server runs the HTTP(S) listeners of the WS-Management endpoint:
// TLS setup (including a self-signed certificate generated on first start),
// connection limits, the timeouts of http.Server, and graceful shutdown.
//
// It serves any http.Handler; the daemon builds one (usually a mux with
// wsman.NewHTTPHandler on /wsman plus /metrics and /healthz) and passes it
// to Run. The package knows nothing about SOAP.
//
// Imports: the standard library and wsman/auth (for certificate
// fingerprints). Never wsman, cim or migrate.
package server
