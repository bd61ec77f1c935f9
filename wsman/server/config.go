package server

import (
	"log/slog"
	"time"
)

// Defaults used by Run for zero Config fields.
const (
	// DefaultHTTPSAddr is the IANA port for WS-Management over HTTPS.
	DefaultHTTPSAddr = ":5986"
	// DefaultHTTPPort is the IANA port for WS-Management over HTTP, used
	// when Config.HTTPAddr names a host without a port.
	DefaultHTTPPort = "5985"
	// DefaultMaxConns caps concurrent connections over all listeners.
	DefaultMaxConns = 512
	// DefaultMaxConnsPerAddr caps the connections of one client address
	// (an IPv6 /64 counts as one): a quarter of DefaultMaxConns, room
	// for a pool of a busy management tool, so that one address cannot
	// hold every slot.
	DefaultMaxConnsPerAddr = 128
	// DefaultHandshakeTimeout bounds the time from accepting a connection
	// to having read the headers of its first request, TLS handshake
	// included: real clients need milliseconds on a LAN, a second or two
	// across the world; sockets that never send a byte hold a slot no
	// longer than this.
	DefaultHandshakeTimeout = 5 * time.Second
	// DefaultReadHeaderTimeout bounds the time to read request headers,
	// which stops slow-header (slowloris) clients.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds the time to read a whole request,
	// headers and body (at most a 500 KiB envelope).
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds the time from the end of the request
	// headers to the end of the response. It must exceed the longest
	// WS-Management OperationTimeout served (Windows caps it at 60 s).
	DefaultWriteTimeout = 90 * time.Second
	// DefaultIdleTimeout is how long an idle keep-alive connection is kept.
	DefaultIdleTimeout = 120 * time.Second
	// DefaultShutdownTimeout is how long Run waits for requests in flight
	// when its context ends, before closing connections hard.
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultMaxHeaderBytes bounds request headers (Windows allows 16 KiB
	// per header; Kerberos tokens can be large).
	DefaultMaxHeaderBytes = 64 << 10
)

// Config configures Run. The zero value serves HTTPS on :5986 with a
// self-signed certificate kept in the current directory; set StateDir.
type Config struct {
	// HTTPSAddr is the HTTPS listen address; "" means DefaultHTTPSAddr.
	// Use "-" to disable HTTPS (then HTTPAddr must be set).
	HTTPSAddr string
	// HTTPAddr is the plain-HTTP listen address; "" disables it. A host
	// without a port gets DefaultHTTPPort. Basic authentication over it is
	// refused unless the handler allows unencrypted traffic.
	HTTPAddr string

	// CertFile and KeyFile are the server certificate chain and key (PEM).
	// When both are empty a self-signed certificate is created in
	// StateDir on first start and reused afterwards (see LoadOrCreateCert).
	CertFile, KeyFile string
	// CertReloadInterval is how often, at most, CertFile and KeyFile are
	// checked for replacement (rotation without restart); 0 means
	// DefaultCertReloadInterval, negative disables reloading.
	CertReloadInterval time.Duration
	// StateDir holds the generated cert.pem and key.pem; "" means ".".
	StateDir string
	// ExtraNames are added to the generated certificate's subject
	// alternative names (host names or IP addresses), besides the host
	// name, localhost, 127.0.0.1 and ::1.
	ExtraNames []string
	// ClientCAFile, when set, is a PEM bundle of CAs that sign client
	// certificates; clients may then present a certificate (it is verified
	// against these CAs) and requests carry it for auth.ClientCert.
	ClientCAFile string
	// RequestClientCert asks clients for a certificate without verifying
	// its chain, for fingerprint-pinned client certificates without a CA.
	// Ignored when ClientCAFile is set.
	RequestClientCert bool

	// MaxConns caps concurrent connections over all listeners; 0 means
	// DefaultMaxConns, negative means no cap. At the cap a connection
	// that is not serving a request (before its first request, or idle
	// between keep-alive requests) is closed to admit the new one: the
	// oldest of the client address holding the most connections. If every
	// connection is serving a request, new clients wait in the kernel's
	// accept queue.
	MaxConns int
	// MaxConnsPerAddr caps the connections of one client address (an
	// IPv4 address or an IPv6 /64); 0 means DefaultMaxConnsPerAddr,
	// negative means no cap. Past it new connections from the address are
	// closed at once.
	MaxConnsPerAddr int
	// HandshakeTimeout closes a connection that has not completed its TLS
	// handshake and sent the headers of a first request within it; 0 means
	// DefaultHandshakeTimeout, negative means none (ReadHeaderTimeout still
	// applies).
	HandshakeTimeout time.Duration
	// Timeouts of http.Server; 0 means the Default* constant above,
	// negative means none.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds request headers; 0 means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// ShutdownTimeout bounds the graceful shutdown; 0 means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// Logger receives server errors; nil means slog.Default().
	Logger *slog.Logger
}

func (c *Config) httpsAddr() string {
	if c.HTTPSAddr == "" {
		return DefaultHTTPSAddr
	}
	return c.HTTPSAddr
}

func (c *Config) stateDir() string {
	if c.StateDir == "" {
		return "."
	}
	return c.StateDir
}

func (c *Config) maxConns() int {
	if c.MaxConns == 0 {
		return DefaultMaxConns
	}
	return c.MaxConns
}

func (c *Config) maxConnsPerAddr() int {
	if c.MaxConnsPerAddr == 0 {
		return DefaultMaxConnsPerAddr
	}
	return c.MaxConnsPerAddr
}

func (c *Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

// duration resolves a timeout field: 0 -> def, negative -> 0 (none).
func duration(v, def time.Duration) time.Duration {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}
