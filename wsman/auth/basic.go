package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultReloadInterval is the longest time BasicFile goes without
// checking whether the users file changed (one stat per interval at most).
const DefaultReloadInterval = time.Second

// BasicFileConfig configures NewBasicFile. Only Path is required.
type BasicFileConfig struct {
	// Path is the users file ("name:hash" lines; see AddUser).
	Path string
	// CacheTTL is how long a verified credential is cached; 0 means
	// DefaultCacheTTL, negative disables the cache.
	CacheTTL time.Duration
	// CacheSize bounds the credential cache; 0 means DefaultCacheSize.
	CacheSize int
	// ReloadInterval is the minimum time between two checks of the file's
	// modification time and size; 0 means DefaultReloadInterval.
	ReloadInterval time.Duration
	// MaxConcurrentVerify bounds how many password hashes are computed at
	// once, so that a flood of wrong passwords cannot take every CPU from
	// requests with cached credentials; 0 means half of
	// runtime.GOMAXPROCS(0), at least 1.
	MaxConcurrentVerify int
	// Throttle bounds the failed password checks per client address
	// (AddrKey of the request's RemoteAddr); the zero value uses the
	// defaults. An address past its budget gets a *ThrottledError
	// before any hash is computed.
	Throttle ThrottleConfig
	// Logger receives reload errors; nil means slog.Default().
	Logger *slog.Logger
}

// BasicFile authenticates HTTP Basic credentials against a users file,
// reloading the file when it changes. Create it with NewBasicFile.
type BasicFile struct {
	path     string
	interval time.Duration
	log      *slog.Logger
	cache    *credCache // nil when disabled
	verify   chan struct{}
	throttle *Throttle

	table      atomic.Pointer[userTable]
	lastCheck  atomic.Int64 // unix nanoseconds of the last stat
	reloadMu   sync.Mutex
	badInfo    os.FileInfo // last file version that failed to load; guarded by reloadMu
	statFailed bool        // the file could not be stat'ed at the last check; guarded by reloadMu

	// In-flight verifications by cache key: concurrent requests with the
	// same Authorization header (32 clients of one tool starting at once)
	// wait for one hash computation instead of each doing their own.
	flightMu sync.Mutex
	inflight map[[32]byte]*flight

	checkPassword func(hash, pw string) (bool, error) // VerifyPassword; tests count calls
}

// flight is one password verification others may wait for.
type flight struct {
	done chan struct{}
	user string
	err  error
}

// userTable is one loaded version of the users file.
type userTable struct {
	users map[string]string
	info  os.FileInfo
	dummy string // checked for unknown users: see dummyFor
}

// NewBasicFile loads the users file and returns an authenticator for it.
// A missing or malformed file is an error here; later reload errors are
// logged and the last good content stays in force.
func NewBasicFile(cfg BasicFileConfig) (*BasicFile, error) {
	if cfg.Path == "" {
		return nil, errors.New("auth: users file path is empty")
	}
	b := &BasicFile{
		path:     cfg.Path,
		interval: cfg.ReloadInterval,
		log:      cfg.Logger,
		verify:   make(chan struct{}, cmpDefault(cfg.MaxConcurrentVerify, max(1, runtime.GOMAXPROCS(0)/2))),
		inflight: make(map[[32]byte]*flight),
		throttle: NewThrottle(cfg.Throttle),

		checkPassword: VerifyPassword,
	}
	if b.interval <= 0 {
		b.interval = DefaultReloadInterval
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if cfg.CacheTTL >= 0 {
		b.cache = newCredCache(cmpDefault(cfg.CacheTTL, DefaultCacheTTL), cmpDefault(cfg.CacheSize, DefaultCacheSize))
	}
	t, err := loadUsers(cfg.Path)
	if err != nil {
		return nil, err
	}
	b.table.Store(t)
	b.lastCheck.Store(time.Now().UnixNano())
	return b, nil
}

func cmpDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func loadUsers(path string) (*userTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usersFileError(path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, usersFileError(path, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxUsersFileSize+1))
	if err != nil {
		return nil, usersFileError(path, err)
	}
	if len(data) > maxUsersFileSize {
		return nil, fmt.Errorf("auth: users file %s is larger than %d bytes", path, maxUsersFileSize)
	}
	users, err := parseUsers(data, path)
	if err != nil {
		return nil, err
	}
	return &userTable{users: users, info: info, dummy: dummyFor(users)}, nil
}

// usersFileError names the users file once: the *fs.PathError of the
// operation is unwrapped to its cause, which still matches
// fs.ErrNotExist and fs.ErrPermission.
func usersFileError(path string, err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		err = pe.Err
	}
	return fmt.Errorf("auth: users file %s: %w", path, err)
}

// Authenticate implements Authenticator for "Authorization: Basic ...".
func (b *BasicFile) Authenticate(r *http.Request) (string, error) {
	header := r.Header.Get("Authorization")
	if len(header) < 6 || !strings.EqualFold(header[:6], "basic ") {
		return "", ErrNoCredentials
	}
	now := time.Now()
	b.maybeReload(now)
	if b.cache == nil {
		return b.verifyRequest(r, [32]byte{}, 0)
	}
	key := b.cache.sum(header)
	if user, ok := b.cache.get(key, now); ok {
		return user, nil
	}
	gen := b.cache.generation()

	b.flightMu.Lock()
	if f, ok := b.inflight[key]; ok {
		b.flightMu.Unlock()
		select {
		case <-f.done:
			if !errors.Is(f.err, context.Canceled) && !errors.Is(f.err, context.DeadlineExceeded) {
				return f.user, f.err
			}
			// The first request gave up; its result says nothing about ours.
			return b.verifyRequest(r, key, gen)
		case <-r.Context().Done():
			return "", fmt.Errorf("auth: %w", r.Context().Err())
		}
	}
	f := &flight{done: make(chan struct{})}
	b.inflight[key] = f
	b.flightMu.Unlock()
	defer func() {
		b.flightMu.Lock()
		delete(b.inflight, key)
		b.flightMu.Unlock()
		close(f.done)
	}()
	f.user, f.err = b.verifyRequest(r, key, gen)
	return f.user, f.err
}

// verifyRequest checks the Basic credentials of r against the users
// table and caches a success under key (if the cache is on and has not
// been cleared since gen).
func (b *BasicFile) verifyRequest(r *http.Request, key [32]byte, gen uint64) (string, error) {
	name, pw, ok := r.BasicAuth()
	if !ok {
		return "", fmt.Errorf("%w: malformed Basic credentials", ErrInvalidCredentials)
	}
	// The failure budget is taken before the hash is computed, and
	// before waiting for a verification slot: an address that spent it
	// neither costs CPU nor queues ahead of other clients.
	addr := AddrKey(r.RemoteAddr)
	if retry, ok := b.throttle.Begin(addr, time.Now()); !ok {
		return "", &ThrottledError{RetryAfter: retry}
	}
	failed := false
	defer func() { b.throttle.End(addr, failed, time.Now()) }()
	select {
	case b.verify <- struct{}{}:
		defer func() { <-b.verify }()
	case <-r.Context().Done():
		return "", fmt.Errorf("auth: %w", r.Context().Err())
	}
	// Errors name no user: the caller logs the name, shortened (a name
	// is the client's to choose, up to the header limit).
	t := b.table.Load()
	hash, known := t.users[name]
	if !known {
		b.checkPassword(t.dummy, pw) // same cost as a wrong password
		failed = true
		return "", fmt.Errorf("%w: unknown user", ErrInvalidCredentials)
	}
	match, err := b.checkPassword(hash, pw)
	if err != nil {
		return "", fmt.Errorf("auth: the stored hash of this user: %w", err)
	}
	if !match {
		failed = true
		if len(pw) > MaxBcryptPassword && isBcrypt(hash) {
			return "", fmt.Errorf("%w: password longer than %d bytes", ErrInvalidCredentials, MaxBcryptPassword)
		}
		return "", fmt.Errorf("%w: wrong password", ErrInvalidCredentials)
	}
	if b.cache != nil {
		b.cache.put(key, name, gen, time.Now())
	}
	return name, nil
}

// maybeReload checks the file at most once per interval and reloads it
// when its identity, size or modification time changed.
func (b *BasicFile) maybeReload(now time.Time) {
	last := b.lastCheck.Load()
	if now.UnixNano()-last < int64(b.interval) || !b.lastCheck.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	b.Reload()
}

// Reload checks the users file now and reloads it if it changed. Callers
// normally need not call it: Authenticate checks once per interval.
func (b *BasicFile) Reload() {
	b.reloadMu.Lock()
	defer b.reloadMu.Unlock()
	old := b.table.Load()
	info, err := os.Stat(b.path)
	if err != nil {
		if !b.statFailed { // log once until the file is back
			b.log.Error("users file unreadable; keeping the last loaded users", "path", b.path, "err", err)
		}
		b.statFailed = true
		return
	}
	b.statFailed = false
	if sameVersion(info, old.info) || (b.badInfo != nil && sameVersion(info, b.badInfo)) {
		return
	}
	t, err := loadUsers(b.path)
	if err != nil {
		b.badInfo = info // log once per bad version, not once per interval
		b.log.Error("users file invalid; keeping the last loaded users", "path", b.path, "err", err)
		return
	}
	b.badInfo = nil
	b.table.Store(t)
	if b.cache != nil {
		b.cache.clear()
	}
	b.log.Info("users file reloaded", "path", b.path, "users", len(t.users))
}

// sameVersion reports whether two stats describe the same version of a
// file: same file (device and inode), size and modification time.
func sameVersion(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
