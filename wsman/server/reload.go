package server

import (
	"crypto/tls"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vsmig/vsmig/wsman/auth"
)

// DefaultCertReloadInterval is how often, at most, the configured
// certificate files are checked for replacement (one stat per interval,
// done during a TLS handshake).
const DefaultCertReloadInterval = time.Minute

// certReloader serves the configured CertFile/KeyFile and picks up a new
// pair when the files change, so that certificates can be rotated without
// a restart. A pair that fails to load is logged and the old one kept.
type certReloader struct {
	certFile, keyFile string
	interval          time.Duration
	log               *slog.Logger

	cert      atomic.Pointer[tls.Certificate]
	lastCheck atomic.Int64 // unix nanoseconds
	mu        sync.Mutex   // serializes reloads
	certMod   time.Time
	keyMod    time.Time
}

func newCertReloader(certFile, keyFile string, c tls.Certificate, interval time.Duration, log *slog.Logger) *certReloader {
	r := &certReloader{certFile: certFile, keyFile: keyFile, interval: interval, log: log}
	r.cert.Store(&c)
	r.certMod, r.keyMod = modTime(certFile), modTime(keyFile)
	r.lastCheck.Store(time.Now().UnixNano())
	return r
}

func modTime(path string) time.Time {
	if fi, err := os.Stat(path); err == nil {
		return fi.ModTime()
	}
	return time.Time{}
}

// getCertificate is a tls.Config.GetCertificate hook.
func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	now := time.Now().UnixNano()
	last := r.lastCheck.Load()
	if now-last >= int64(r.interval) && r.lastCheck.CompareAndSwap(last, now) {
		r.reload()
	}
	return r.cert.Load(), nil
}

func (r *certReloader) reload() {
	r.mu.Lock()
	defer r.mu.Unlock()
	certMod, keyMod := modTime(r.certFile), modTime(r.keyFile)
	if certMod.Equal(r.certMod) && keyMod.Equal(r.keyMod) {
		return
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		// Perhaps caught between the two files' replacement: retry next time.
		r.log.Error("new server certificate does not load; keeping the old one", "cert", r.certFile, "err", err)
		return
	}
	r.certMod, r.keyMod = certMod, keyMod
	r.cert.Store(&c)
	r.log.Info("server certificate reloaded", "cert", r.certFile, "sha256", auth.Fingerprint(c.Leaf))
}
