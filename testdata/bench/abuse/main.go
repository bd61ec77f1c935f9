// Command abuse reproduces the four denial-of-service cases of issue #14
// against a real vsmigd (sim driver, HTTPS, default settings unless a case
// says otherwise) and prints what a legitimate client meets meanwhile:
//
//	silent-sockets   2,000 TCP connections from one address that never send
//	                 a byte (and are reopened when closed); median and worst
//	                 time of a legitimate Get on a new connection
//	silent-32        the same with max_connections 32 and 150 sockets
//	auth-flood       256 keep-alive connections from one address sending wrong
//	                 passwords; a legitimate user's first login (uncached)
//	                 and the rate of answered guesses
//	enum-flood       one user sends 1,024 Enumerate requests (32 at a time);
//	                 another user's optimized and plain Enumerate
//	log-flood        a 47,000-byte user name from one address (32
//	                 connections); bytes of log written per second
//
// The attackers use the source address 127.0.0.66 and the legitimate
// client 127.0.0.1, as an attacker and a user on two machines would. The
// program uses only raw HTTP and hand-written envelopes, so the same file
// runs against any vsmigd version:
//
//	go build -o bin/ ./cmd/... && go run ./testdata/bench/abuse -vsmigd bin/vsmigd
//
// Every vsmigd it starts runs in a new session with its own temporary state
// directory and is stopped at the end of its case.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	attackerIP = "127.0.0.66"
	legitIP    = "127.0.0.1"
	password   = "bench-password-1"
)

func main() {
	bin := flag.String("vsmigd", "bin/vsmigd", "vsmigd binary")
	cases := flag.String("cases", "silent-sockets,silent-32,auth-flood,enum-flood,log-flood", "cases to run, comma-separated")
	dur := flag.Duration("attack", 20*time.Second, "how long each attack runs while the legitimate client measures")
	flag.Parse()
	for _, c := range strings.Split(*cases, ",") {
		var err error
		switch c {
		case "silent-sockets":
			err = silentSockets(*bin, *dur, 2000, 0)
		case "silent-32":
			err = silentSockets(*bin, *dur, 150, 32)
		case "auth-flood":
			err = authFlood(*bin, *dur)
		case "enum-flood":
			err = enumFlood(*bin)
		case "log-flood":
			err = logFlood(*bin, *dur)
		default:
			err = fmt.Errorf("unknown case %q", c)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "abuse: %s: %v\n", c, err)
			os.Exit(1)
		}
	}
}

// daemon is one vsmigd started for a case.
type daemon struct {
	cmd     *exec.Cmd
	dir     string
	addr    string // HTTPS host:port
	metrics string
	logPath string
}

// freePort returns a TCP port free on 127.0.0.1 at the time of the call.
func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// start runs vsmigd with the sim driver and users, plus extra flags.
func start(bin string, users []string, extra ...string) (*daemon, error) {
	dir, err := os.MkdirTemp("", "vsmig-abuse-")
	if err != nil {
		return nil, err
	}
	d := &daemon{dir: dir, addr: "127.0.0.1:" + freePort(), metrics: "127.0.0.1:" + freePort(), logPath: filepath.Join(dir, "vsmigd.log")}
	for _, u := range users {
		c := exec.Command(bin, "user", "add", u, "-users-file", filepath.Join(dir, "users"))
		c.Stdin = strings.NewReader(password + "\n")
		if out, err := c.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("user add: %v: %s", err, out)
		}
	}
	logf, err := os.Create(d.logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "-state-dir", dir, "-driver", "sim",
		"-https-addr", d.addr, "-metrics-addr", d.metrics}, extra...)
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	logf.Close()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + d.metrics + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.stop()
	return nil, errors.New("vsmigd did not become ready")
}

func (d *daemon) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(d.dir)
}

// dialFrom returns a dialer that binds the source address ip.
func dialFrom(ip string, timeout time.Duration) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: timeout}
}

// client returns an HTTPS client from ip; keepAlive false opens a new
// connection (TCP and TLS) per request.
func client(ip string, keepAlive bool, conns int) *http.Client {
	return &http.Client{
		Timeout: 120 * time.Second,
		Transport: &http.Transport{
			DialContext:         dialFrom(ip, 120*time.Second).DialContext,
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
			DisableKeepAlives:   !keepAlive,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
		},
	}
}

const (
	nsCIM    = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	anonAddr = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
)

var msgID atomic.Int64

// envelope builds a request envelope.
func envelope(action, resource string, selectors map[string]string, body string) string {
	var sel strings.Builder
	keys := make([]string, 0, len(selectors))
	for k := range selectors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&sel, `<w:Selector Name="%s">%s</w:Selector>`, k, selectors[k])
	}
	return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ` +
		`xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><s:Header>` +
		`<a:To>https://localhost/wsman</a:To><w:ResourceURI>` + resource + `</w:ResourceURI>` +
		`<a:ReplyTo><a:Address>` + anonAddr + `</a:Address></a:ReplyTo><a:Action>` + action + `</a:Action>` +
		`<a:MessageID>uuid:00000000-0000-0000-0000-` + fmt.Sprintf("%012d", msgID.Add(1)) + `</a:MessageID>` +
		`<w:SelectorSet>` + sel.String() + `</w:SelectorSet></s:Header><s:Body>` + body + `</s:Body></s:Envelope>`
}

func getEnvelope() string {
	return envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", nsCIM+"CIM_VirtualSystemMigrationService",
		map[string]string{"CreationClassName": "CIM_VirtualSystemMigrationService", "Name": "MigrationService",
			"SystemCreationClassName": "CIM_ComputerSystem", "SystemName": "host-a", "__cimnamespace": "root/virtualization"}, "")
}

func enumEnvelope(optimized bool) string {
	body := `<n:Enumerate/>`
	if optimized {
		body = `<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>100</w:MaxElements></n:Enumerate>`
	}
	return envelope("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate", nsCIM+"CIM_ComputerSystem",
		map[string]string{"__cimnamespace": "root/virtualization"}, body)
}

// post sends env as user:pw and returns the status, the body and the time.
func post(ctx context.Context, c *http.Client, addr, user, pw, env string) (int, string, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", "https://"+addr+"/wsman", strings.NewReader(env))
	if err != nil {
		return 0, "", 0, err
	}
	req.SetBasicAuth(user, pw)
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", time.Since(t0), err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b), time.Since(t0), nil
}

// stats prints median and worst of ds.
func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return fmt.Sprintf("median %.3f s, max %.3f s (%d samples)", s[len(s)/2].Seconds(), s[len(s)-1].Seconds(), len(s))
}

// silentSockets holds n silent connections from the attacker address,
// reopening each one the server closes, while the legitimate client does
// one Get per second on a new connection.
func silentSockets(bin string, dur time.Duration, n, maxConns int) error {
	var extra []string
	label := "default settings"
	if maxConns > 0 {
		extra = []string{"-max-connections", strconv.Itoa(maxConns)}
		label = "max_connections " + strconv.Itoa(maxConns)
	}
	d, err := start(bin, []string{"admin"}, extra...)
	if err != nil {
		return err
	}
	defer d.stop()
	// Warm the credential cache: the case measures connection slots.
	if st, _, _, err := post(context.Background(), client(legitIP, false, 1), d.addr, "admin", password, getEnvelope()); err != nil || st != 200 {
		return fmt.Errorf("warm-up Get: %d %v", st, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var opened, closedByServer atomic.Int64
	for range n {
		wg.Go(func() {
			dl := dialFrom(attackerIP, 10*time.Second)
			buf := make([]byte, 1)
			for ctx.Err() == nil {
				c, err := dl.DialContext(ctx, "tcp", d.addr)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				opened.Add(1)
				stop := context.AfterFunc(ctx, func() { c.Close() })
				c.Read(buf) // returns when the server (or the end of the case) closes it
				if stop() {
					closedByServer.Add(1)
				}
				c.Close()
			}
		})
	}
	time.Sleep(2 * time.Second) // let the sockets pile up
	var lat []time.Duration
	var failures int
	legit := client(legitIP, false, 1)
	deadline := time.Now().Add(dur)
	for time.Now().Before(deadline) || len(lat) < 3 {
		st, _, d0, err := post(context.Background(), legit, d.addr, "admin", password, getEnvelope())
		if err != nil || st != 200 {
			failures++
		}
		lat = append(lat, d0)
		if d0 < time.Second {
			time.Sleep(time.Second - d0)
		}
	}
	cancel()
	wg.Wait()
	fmt.Printf("%-15s %s, %d silent sockets from %s: legitimate Get on a new connection: %s; %d failed; attacker opened %d connections, %d closed by the server\n",
		"silent-sockets", label, n, attackerIP, stats(lat), failures, opened.Load(), closedByServer.Load())
	return nil
}

// authFlood sends wrong passwords on 256 keep-alive connections from the
// attacker address while legitimate users log in for the first time.
func authFlood(bin string, dur time.Duration) error {
	users := []string{"admin"}
	for i := range 20 {
		users = append(users, fmt.Sprintf("user%02d", i))
	}
	d, err := start(bin, users)
	if err != nil {
		return err
	}
	defer d.stop()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	codes := map[int]*atomic.Int64{}
	for _, c := range []int{200, 401, 403, 429, 500, 503, 0} {
		codes[c] = new(atomic.Int64)
	}
	atk := client(attackerIP, true, 256)
	var guess atomic.Int64
	for range 256 {
		wg.Go(func() {
			for ctx.Err() == nil {
				st, _, _, err := post(ctx, atk, d.addr, "admin", "guess-"+strconv.FormatInt(guess.Add(1), 10), getEnvelope())
				if err != nil {
					st = 0
					if ctx.Err() == nil {
						time.Sleep(10 * time.Millisecond)
					}
				}
				if c, ok := codes[st]; ok {
					c.Add(1)
				}
			}
		})
	}
	time.Sleep(3 * time.Second) // the flood is in full swing
	before := codes[401].Load()
	t0 := time.Now()
	var lat []time.Duration
	var failures int
	legit := client(legitIP, false, 1)
	for i := 1; i < len(users) && time.Since(t0) < dur; i++ {
		st, _, d0, err := post(context.Background(), legit, d.addr, users[i], password, getEnvelope())
		if err != nil || st != 200 {
			failures++
		}
		lat = append(lat, d0)
		time.Sleep(500 * time.Millisecond)
	}
	if rest := dur - time.Since(t0); rest > 0 {
		time.Sleep(rest)
	}
	guesses := codes[401].Load() - before
	el := time.Since(t0)
	cancel()
	wg.Wait()
	fmt.Printf("%-15s 256 connections from %s guessing: legitimate first login (uncached, %s): %s; %d failed; guesses answered 401 (hash checked) %.1f/s; attacker answers: 401 %d, 429 %d, 503 %d, errors %d\n",
		"auth-flood", attackerIP, legitIP, stats(lat), failures, float64(guesses)/el.Seconds(),
		codes[401].Load(), codes[429].Load(), codes[503].Load(), codes[0].Load())
	return nil
}

// enumFlood has user "mallory" open 1,024 enumeration contexts, then
// times user "admin"'s optimized and plain Enumerate.
func enumFlood(bin string) error {
	d, err := start(bin, []string{"admin", "mallory"})
	if err != nil {
		return err
	}
	defer d.stop()
	atk := client(attackerIP, true, 32)
	var wg sync.WaitGroup
	var ok, quota, other atomic.Int64
	jobs := make(chan struct{})
	for range 32 {
		wg.Go(func() {
			for range jobs {
				st, body, _, err := post(context.Background(), atk, d.addr, "mallory", password, enumEnvelope(false))
				switch {
				case err == nil && st == 200:
					ok.Add(1)
				case strings.Contains(body, "QuotaLimit"):
					quota.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	for range 1024 {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	legit := client(legitIP, true, 1)
	result := func(optimized bool) string {
		st, body, d0, err := post(context.Background(), legit, d.addr, "admin", password, enumEnvelope(optimized))
		switch {
		case err != nil:
			return "error " + err.Error()
		case st == 200:
			return fmt.Sprintf("ok in %.3f s", d0.Seconds())
		case strings.Contains(body, "QuotaLimit"):
			return fmt.Sprintf("w:QuotaLimit in %.3f s", d0.Seconds())
		}
		return fmt.Sprintf("HTTP %d in %.3f s", st, d0.Seconds())
	}
	opt, plain := result(true), result(false)
	fmt.Printf("%-15s user mallory sent 1024 Enumerate: %d ok, %d w:QuotaLimit, %d other; then user admin: optimized Enumerate (fits one reply) %s; plain Enumerate %s\n",
		"enum-flood", ok.Load(), quota.Load(), other.Load(), opt, plain)
	return nil
}

// logFlood sends a 47,000-byte user name from 32 connections and measures
// the log written meanwhile.
func logFlood(bin string, dur time.Duration) error {
	d, err := start(bin, []string{"admin"})
	if err != nil {
		return err
	}
	defer d.stop()
	time.Sleep(time.Second)
	size0 := fileSize(d.logPath)
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	name := strings.Repeat("A", 47000)
	atk := client(attackerIP, true, 32)
	var wg sync.WaitGroup
	var sent atomic.Int64
	for range 32 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, _, _, err := post(ctx, atk, d.addr, name, "x", getEnvelope()); err == nil {
					sent.Add(1)
				}
			}
		})
	}
	wg.Wait()
	time.Sleep(500 * time.Millisecond)
	grew := fileSize(d.logPath) - size0
	fmt.Printf("%-15s 47,000-byte user name from %s, 32 connections, %s: %d requests answered, log grew %d bytes = %.0f bytes/s (%.0f bytes per request)\n",
		"log-flood", attackerIP, dur, sent.Load(), grew, float64(grew)/dur.Seconds(), float64(grew)/float64(max(sent.Load(), 1)))
	return nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
