package wsman

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vsmig/vsmig/wsman/auth"
)

// URL paths served by the handler NewHTTPHandler returns.
const (
	// PathWSMan is the WS-Management endpoint (DSP0226 §13, Windows and
	// openwsman default).
	PathWSMan = "/wsman"
	// PathAnonIdentify answers Identify without authentication, as
	// openwsman does; nothing else is served there.
	PathAnonIdentify = "/wsman-anon/identify"
)

// DefaultMaxRequestSize is the largest request body accepted, in octets:
// 500 KiB, the default MaxEnvelopeSizekb of Windows WinRM. Larger bodies
// get 413 without being read.
const DefaultMaxRequestSize = 500 * 1024

// maxPooledBuffer is the capacity above which a request buffer is not
// kept for reuse.
const maxPooledBuffer = 1 << 20

// HTTPConfig configures NewHTTPHandler. The zero value is valid: it
// accepts only anonymous Identify (no Authenticator), refuses
// authentication over plain HTTP and limits bodies to
// DefaultMaxRequestSize.
type HTTPConfig struct {
	// Authenticator checks the credentials of every request except
	// anonymous Identify. Nil refuses them all with 401.
	Authenticator auth.Authenticator
	// AllowUnencrypted permits authenticated requests over plain HTTP.
	// Off by default, like Windows' AllowUnencrypted=false: HTTP Basic
	// would carry the password in clear, so such requests get 403 with no
	// authentication challenge (a 401 would invite clients to send a
	// password) and a logged reason, before their credentials are even
	// looked at.
	AllowUnencrypted bool
	// MaxRequestSize is the largest request body in octets (before
	// charset conversion); 0 means DefaultMaxRequestSize.
	MaxRequestSize int64
	// Logger receives refusals (summarised per address when they repeat)
	// and internal errors; nil means slog.Default(). Passwords are never
	// logged, user names only shortened and escaped.
	Logger *slog.Logger
}

// httpHandler is the http.Handler of NewHTTPHandler.
type httpHandler struct {
	svc      soapServer
	auth     auth.Authenticator
	plain    bool // AllowUnencrypted
	max      int64
	log      *slog.Logger
	refusals *refusalLog
	// throttledDelay holds back the 429 answer to a throttled address, so
	// that a client hammering the server with guesses on keep-alive
	// connections makes at most one request per connection and delay.
	throttledDelay time.Duration
	bufs           sync.Pool // *bytes.Buffer
}

// throttledDelay is httpHandler.throttledDelay.
const throttledDelay = time.Second

// soapServer is the part of *Service the transport needs; tests may stub it.
type soapServer interface {
	ServeSOAP(ctx context.Context, caller Caller, body []byte) (resp []byte, status int)
}

// bufferedSOAPServer is implemented by *Service: the handler writes the
// response straight from the service's pooled buffer rather than a copy.
type bufferedSOAPServer interface {
	serveBuffer(ctx context.Context, caller Caller, body []byte) (buf *bytes.Buffer, status int)
	serveUndecodable(ctx context.Context, caller Caller, decodeErr error) (buf *bytes.Buffer, status int)
	releaseBuffer(buf *bytes.Buffer)
}

// NewHTTPHandler returns the HTTP binding of svc (DSP0226 §13): SOAP 1.2
// envelopes POSTed to /wsman (authenticated) and /wsman-anon/identify
// (anonymous, Identify only).
//
// Answers that carry no SOAP envelope have an empty body: 404 for other
// paths, 405 for methods other than POST, 401 with
// `WWW-Authenticate: Basic realm="WSMAN"` for missing or wrong credentials,
// 403 (no challenge; a short text/plain body saying why) for any
// non-anonymous request over plain HTTP unless AllowUnencrypted, 429 with
// Retry-After when the client's address spent its budget of failed logins
// (auth.ErrThrottled; its credentials were not checked), 415
// for a media type other than application/soap+xml or a charset other than
// UTF-8/UTF-16, 413 for a body over MaxRequestSize (refused from
// Content-Length before reading, or when a chunked body passes the limit),
// 400 when the body cannot be read. A request carrying the Windows header
// `WSMANIDENTIFY: unauthenticated` is served anonymously (Identify only).
// Every other answer comes from svc, in the request's charset, with an
// explicit Content-Length. A panic below the handler becomes a 500
// wsman:InternalError fault.
//
// Credentials are checked before anything about the request is looked at,
// so an unauthenticated peer learns nothing else; refusals are logged
// (address and shortened user name, never the password), at most a few
// per address and minute, the rest summarised.
// The handler matches the two paths itself, so it can be mounted on a mux
// or serve alone.
func NewHTTPHandler(svc *Service, cfg HTTPConfig) http.Handler {
	return newHTTPHandler(svc, cfg)
}

func newHTTPHandler(svc soapServer, cfg HTTPConfig) *httpHandler {
	h := &httpHandler{
		svc:   svc,
		auth:  cfg.Authenticator,
		plain: cfg.AllowUnencrypted,
		max:   cfg.MaxRequestSize,
		log:   cfg.Logger,
	}
	if h.max <= 0 {
		h.max = DefaultMaxRequestSize
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.refusals = newRefusalLog(h.log)
	h.throttledDelay = throttledDelay
	h.bufs.New = func() any { return new(bytes.Buffer) }
	return h
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cs := httpCharset{label: "UTF-8"} // until the body says otherwise
	defer func() {
		if v := recover(); v != nil {
			h.recovered(w, r, v, cs)
		}
	}()

	anonymous := false
	switch r.URL.Path {
	case PathWSMan:
		anonymous = strings.EqualFold(r.Header.Get("WSMANIDENTIFY"), "unauthenticated")
	case PathAnonIdentify:
		anonymous = true
	default:
		emptyResponse(w, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		emptyResponse(w, http.StatusMethodNotAllowed)
		return
	}
	caller := Caller{Anonymous: anonymous, RemoteAddr: r.RemoteAddr}
	if !anonymous {
		user, refuse := h.authenticate(r)
		if refuse != nil {
			refuse(w)
			return
		}
		caller.User = user
	}
	label, ok := parseSOAPContentType(r.Header.Get("Content-Type"))
	if !ok || !supportedCharset(label) {
		emptyResponse(w, http.StatusUnsupportedMediaType)
		return
	}
	if r.ContentLength > h.max {
		// Refuse without reading; do not let the server drain the rest.
		w.Header().Set("Connection", "close")
		emptyResponse(w, http.StatusRequestEntityTooLarge)
		return
	}

	buf := h.bufs.Get().(*bytes.Buffer)
	defer h.putBuffer(buf)
	if status := h.readBody(w, r, buf); status != 0 {
		emptyResponse(w, status)
		return
	}
	cs, body, ok := detectCharset(label, buf.Bytes())
	if !ok {
		emptyResponse(w, http.StatusUnsupportedMediaType)
		return
	}
	body, err := cs.decode(body)
	bs, buffered := h.svc.(bufferedSOAPServer)
	switch {
	case err != nil && buffered:
		// Invalid UTF-16 is malformed XML: the fault invalid UTF-8 gets.
		buf, status := bs.serveUndecodable(r.Context(), caller, err)
		defer bs.releaseBuffer(buf)
		writeSOAP(w, cs, buf.Bytes(), status)
		return
	case err != nil:
		var buf bytes.Buffer
		(&response{buf: &buf}).writeFault(decodeFault(err), "")
		writeSOAP(w, cs, buf.Bytes(), http.StatusInternalServerError)
		return
	case buffered:
		buf, status := bs.serveBuffer(r.Context(), caller, body)
		defer bs.releaseBuffer(buf)
		writeSOAP(w, cs, buf.Bytes(), status)
		return
	}
	resp, status := h.svc.ServeSOAP(r.Context(), caller, body)
	writeSOAP(w, cs, resp, status)
}

// writeSOAP sends a response envelope (UTF-8) in the request's charset.
func writeSOAP(w http.ResponseWriter, cs httpCharset, resp []byte, status int) {
	if status == 0 {
		status = http.StatusOK
	}
	resp, err := cs.encode(resp)
	if err != nil {
		panic(fmt.Errorf("wsman: encode response as %s: %w", cs.label, err))
	}
	hdr := w.Header()
	hdr["Content-Type"] = cs.contentType()
	hdr["Content-Length"] = []string{strconv.Itoa(len(resp))}
	w.WriteHeader(status)
	w.Write(resp)
}

// readBody reads the request body into buf, at most h.max octets. It
// returns 0 on success, else the HTTP status to answer.
func (h *httpHandler) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) int {
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead) // ReadFrom wants MinRead spare before EOF
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.max))
	if err == nil {
		return 0
	}
	if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
		return http.StatusRequestEntityTooLarge
	}
	h.log.Debug("reading WS-Man request body failed", "remote", r.RemoteAddr, "err", err)
	return http.StatusBadRequest
}

func (h *httpHandler) putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	h.bufs.Put(b)
}

// authenticate returns the user of r, or how to refuse the request after
// logging why.
func (h *httpHandler) authenticate(r *http.Request) (user string, refuse func(http.ResponseWriter)) {
	addr := auth.AddrKey(r.RemoteAddr)
	if r.TLS == nil && !h.plain {
		h.refusals.refused(slog.LevelWarn, "refused a request over plain HTTP (allow_unencrypted is off)", addr,
			slog.String("remote", r.RemoteAddr), slog.Bool("credentials", r.Header.Get("Authorization") != ""))
		return "", encryptionRequired
	}
	if h.auth == nil {
		return "", unauthorized
	}
	user, err := h.auth.Authenticate(r)
	if err == nil {
		return user, nil
	}
	name, _, _ := r.BasicAuth()
	switch {
	case errors.Is(err, auth.ErrNoCredentials) || r.Context().Err() != nil:
		return "", unauthorized
	case errors.Is(err, auth.ErrThrottled):
		h.refusals.refused(slog.LevelWarn, "authentication refused: too many failures from this address", addr,
			slog.String("remote", r.RemoteAddr), slog.String("user", logName(name)), slog.String("err", logText(err.Error(), maxLogError)))
		retry := time.Minute
		if te, ok := errors.AsType[*auth.ThrottledError](err); ok {
			retry = te.RetryAfter
		}
		if h.throttledDelay > 0 {
			t := time.NewTimer(min(h.throttledDelay, retry))
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		}
		return "", func(w http.ResponseWriter) { tooManyFailures(w, retry) }
	case !errors.Is(err, auth.ErrInvalidCredentials):
		// The check itself failed (say, a damaged hash in the users file):
		// the server's fault, so not counted against the client.
		h.refusals.refused(slog.LevelError, "authentication could not be checked", addr,
			slog.String("remote", r.RemoteAddr), slog.String("user", logName(name)), slog.String("err", logText(err.Error(), maxLogError)))
		return "", unauthorized
	}
	h.refusals.refused(slog.LevelWarn, "authentication failed", addr,
		slog.String("remote", r.RemoteAddr), slog.String("user", logName(name)), slog.String("err", logText(err.Error(), maxLogError)))
	return "", unauthorized
}

// recovered answers a panic with a 500 InternalError fault. Every status
// this handler writes is its last action, so nothing was sent yet.
func (h *httpHandler) recovered(w http.ResponseWriter, r *http.Request, v any, cs httpCharset) {
	if v == http.ErrAbortHandler {
		panic(v)
	}
	h.log.Error("panic serving WS-Man request", "remote", r.RemoteAddr, "panic", v, "stack", string(debug.Stack()))
	var buf bytes.Buffer
	(&response{buf: &buf}).writeFault(NewFault(SubcodeInternalError, "", ""), "")
	body, err := cs.encode(buf.Bytes())
	if err != nil {
		cs, body = httpCharset{label: "UTF-8"}, buf.Bytes()
	}
	hdr := w.Header()
	hdr["Content-Type"] = cs.contentType()
	hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusInternalServerError)
	w.Write(body)
}

// emptyResponse answers status with no body.
func emptyResponse(w http.ResponseWriter, status int) {
	w.Header()["Content-Length"] = []string{"0"}
	w.WriteHeader(status)
}

// unauthorized answers 401 with the Basic challenge and an empty body, as
// Windows does.
func unauthorized(w http.ResponseWriter) {
	w.Header()["Www-Authenticate"] = []string{`Basic realm="WSMAN"`}
	emptyResponse(w, http.StatusUnauthorized)
}

// encryptionRequiredText is the body of encryptionRequired.
const encryptionRequiredText = "This WS-Management endpoint accepts credentials over HTTPS only (allow_unencrypted is off).\n"

// encryptionRequired refuses a request over plain HTTP: 403 with no
// challenge, so that no client is invited to send a password in clear, and
// a line of text for the person reading the client's error.
func encryptionRequired(w http.ResponseWriter) {
	hdr := w.Header()
	hdr["Content-Type"] = []string{"text/plain; charset=utf-8"}
	hdr["Content-Length"] = []string{strconv.Itoa(len(encryptionRequiredText))}
	w.WriteHeader(http.StatusForbidden)
	io.WriteString(w, encryptionRequiredText)
}

// tooManyFailures answers 429 with Retry-After (whole seconds, rounded up)
// and an empty body.
func tooManyFailures(w http.ResponseWriter, retry time.Duration) {
	w.Header()["Retry-After"] = []string{strconv.Itoa(int((retry + time.Second - 1) / time.Second))}
	emptyResponse(w, http.StatusTooManyRequests)
}
