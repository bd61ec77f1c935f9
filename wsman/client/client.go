// Package client is a WS-Management client: it builds request envelopes,
// sends them over HTTP(S) with Basic authentication and decodes responses
// and SOAP faults. It knows no CIM class; vsmigctl builds on it.
//
// TLS verification is on by default. For a server with a self-signed
// certificate, pin its SHA-256 fingerprint (Config.Fingerprint) instead of
// turning verification off.
//
// Imports: the standard library, github.com/beevik/etree, github.com/google/uuid
// and wsman/xsd (xs:duration).
package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"github.com/vsmig/vsmig/wsman/xsd"
)

// Namespaces used in requests and responses.
const (
	NSSOAP        = "http://www.w3.org/2003/05/soap-envelope"
	NSAddressing  = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	NSWSMan       = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	NSEnumeration = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
	NSTransfer    = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
	NSCIMBinding  = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"
	NSIdentity    = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
	NSXSI         = "http://www.w3.org/2001/XMLSchema-instance"
	Anonymous     = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

	DialectWQL         = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
	DialectAssociation = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"
)

// Config says how to reach a server.
type Config struct {
	// Endpoint is the service URL, e.g. https://host:5986/wsman.
	Endpoint string
	User     string
	Password string
	// Fingerprint pins the server certificate by its SHA-256 fingerprint
	// (hex, colons optional). When set, the certificate is accepted if and
	// only if it matches, whatever signed it.
	Fingerprint string
	// CAFile adds a CA bundle to the system roots.
	CAFile string
	// Insecure turns off certificate verification entirely.
	Insecure bool
	// Timeout bounds each HTTP exchange; default 60s.
	Timeout time.Duration
	// OperationTimeout is sent as wsman:OperationTimeout; default 60s.
	OperationTimeout time.Duration
}

// Client sends WS-Management requests. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("client: no endpoint")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.OperationTimeout == 0 {
		cfg.OperationTimeout = 60 * time.Second
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case cfg.Fingerprint != "":
		want, err := parseFingerprint(cfg.Fingerprint)
		if err != nil {
			return nil, err
		}
		tlsCfg.InsecureSkipVerify = true // replaced by the pin check below
		tlsCfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("client: server sent no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if !bytes.Equal(got[:], want) {
				return fmt.Errorf("client: server certificate fingerprint %s does not match the pinned %s",
					Fingerprint(cs.PeerCertificates[0]), cfg.Fingerprint)
			}
			return nil
		}
	case cfg.Insecure:
		tlsCfg.InsecureSkipVerify = true
	case cfg.CAFile != "":
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := readFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("client: CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client: no certificate in %s", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	return &Client{cfg: cfg, http: &http.Client{Transport: tr, Timeout: cfg.Timeout}}, nil
}

// Fingerprint returns the SHA-256 fingerprint of cert in the colon-separated
// upper-case hex form that `openssl x509 -fingerprint -sha256` prints.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

func parseFingerprint(s string) ([]byte, error) {
	clean := strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(strings.TrimPrefix(strings.ToLower(s), "sha256:")))
	b, err := hex.DecodeString(clean)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("client: fingerprint %q is not a SHA-256 hex digest", s)
	}
	return b, nil
}

// Fault is a SOAP fault returned by the server.
type Fault struct {
	HTTPStatus int
	Code       string // e.g. "s:Sender"
	Subcode    string // e.g. "w:InvalidSelectors"
	Reason     string
	Detail     string // the wsman:FaultDetail URI, if any
}

// HasSubcode reports whether the fault's subcode has the local name local
// (servers write their own prefixes: wsen:TimedOut, n:TimedOut).
func (f *Fault) HasSubcode(local string) bool {
	return f.Subcode[strings.LastIndexByte(f.Subcode, ':')+1:] == local
}

func (f *Fault) Error() string {
	msg := fmt.Sprintf("wsman fault %s: %s", f.Subcode, f.Reason)
	if f.Detail != "" {
		msg += " (" + f.Detail[strings.LastIndex(f.Detail, "/")+1:] + ")"
	}
	return msg
}

// ErrUnauthorized is returned for HTTP 401.
var ErrUnauthorized = errors.New("client: authentication failed (HTTP 401)")

// ThrottledError is HTTP 429: the server refuses requests from this
// client's address for a while (vsmigd: too many failed logins from it;
// it checks no credentials until then).
type ThrottledError struct {
	// RetryAfter is the server's Retry-After, 0 if it gave none.
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	msg := "client: the server refuses requests from this address for now: too many failed logins from it (HTTP 429)"
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf("; retry after %s", e.RetryAfter)
	}
	return msg
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

// Request is one request to send.
type Request struct {
	Action      string
	ResourceURI string
	Selectors   map[string]string
	// Headers are extra header elements, already namespaced.
	Headers []*etree.Element
	// Body is the body's child element; nil for an empty body.
	Body *etree.Element
}

// Do sends req and returns the response envelope's Body element.
func (c *Client) Do(ctx context.Context, req Request) (*etree.Element, error) {
	doc := etree.NewDocument()
	env := doc.CreateElement("s:Envelope")
	for prefix, ns := range map[string]string{"s": NSSOAP, "a": NSAddressing, "w": NSWSMan, "n": NSEnumeration, "b": NSCIMBinding, "xsi": NSXSI} {
		env.CreateAttr("xmlns:"+prefix, ns)
	}
	h := env.CreateElement("s:Header")
	h.CreateElement("a:To").SetText(c.cfg.Endpoint)
	if req.ResourceURI != "" {
		ru := h.CreateElement("w:ResourceURI")
		ru.CreateAttr("s:mustUnderstand", "true")
		ru.SetText(req.ResourceURI)
	}
	rt := h.CreateElement("a:ReplyTo").CreateElement("a:Address")
	rt.CreateAttr("s:mustUnderstand", "true")
	rt.SetText(Anonymous)
	if req.Action != "" {
		a := h.CreateElement("a:Action")
		a.CreateAttr("s:mustUnderstand", "true")
		a.SetText(req.Action)
	}
	mes := h.CreateElement("w:MaxEnvelopeSize")
	mes.CreateAttr("s:mustUnderstand", "true")
	mes.SetText("512000")
	h.CreateElement("a:MessageID").SetText("uuid:" + strings.ToUpper(uuid.NewString()))
	h.CreateElement("w:OperationTimeout").SetText(xsd.FormatDuration(c.cfg.OperationTimeout))
	if len(req.Selectors) > 0 {
		ss := h.CreateElement("w:SelectorSet")
		for _, k := range sortedKeys(req.Selectors) {
			s := ss.CreateElement("w:Selector")
			s.CreateAttr("Name", k)
			s.SetText(req.Selectors[k])
		}
	}
	for _, e := range req.Headers {
		h.AddChild(e)
	}
	body := env.CreateElement("s:Body")
	if req.Body != nil {
		body.AddChild(req.Body)
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("client: encoding request: %w", err)
	}
	return c.post(ctx, out)
}

func (c *Client) post(ctx context.Context, payload []byte) (*etree.Element, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.Endpoint, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	hreq.Header.Set("User-Agent", "vsmigctl")
	if c.cfg.User != "" {
		hreq.SetBasicAuth(c.cfg.User, c.cfg.Password)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("client: reading response: %w", err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, ErrUnauthorized
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return nil, &ThrottledError{RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("client: HTTP %d with a body that is not XML: %w", resp.StatusCode, err)
	}
	body := find(doc.Root(), NSSOAP, "Body")
	if body == nil {
		return nil, fmt.Errorf("client: HTTP %d: response has no SOAP Body", resp.StatusCode)
	}
	if f := find(body, NSSOAP, "Fault"); f != nil {
		return nil, decodeFault(resp.StatusCode, f)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("client: HTTP %d", resp.StatusCode)
	}
	return body, nil
}

func decodeFault(status int, f *etree.Element) *Fault {
	out := &Fault{HTTPStatus: status}
	if code := find(f, NSSOAP, "Code"); code != nil {
		if v := find(code, NSSOAP, "Value"); v != nil {
			out.Code = strings.TrimSpace(v.Text())
		}
		if sc := find(code, NSSOAP, "Subcode"); sc != nil {
			if v := find(sc, NSSOAP, "Value"); v != nil {
				out.Subcode = strings.TrimSpace(v.Text())
			}
		}
	}
	if r := find(f, NSSOAP, "Reason"); r != nil {
		if t := find(r, NSSOAP, "Text"); t != nil {
			out.Reason = strings.TrimSpace(t.Text())
		}
	}
	if d := find(f, NSSOAP, "Detail"); d != nil {
		if fd := find(d, NSWSMan, "FaultDetail"); fd != nil {
			out.Detail = strings.TrimSpace(fd.Text())
		}
	}
	return out
}

// find returns the first child of e with the namespace URI and local name.
func find(e *etree.Element, ns, local string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}
