// Package coord is what many serpstat-export processes share through
// Redis when they use one Serpstat account: one request rate (a schedule
// of send slots in a Lua script, on the server's clock, paced as
// pager.Throttle: a learned headroom under the target, small steps down
// after over-rate answers), one credit budget that counts every credit (a reservation its
// process did not settle is charged in full when it expires; a Redis that
// lost the count stops the jobs), and locks on what is being exported
// where.
//
// Every key is namespaced by a hash of the API token, never the token
// itself, so that jobs on the same account share and jobs on different
// accounts do not. A Coordinator's Redis errors wrap ErrUnavailable: the
// caller stops sending and exits so that a scheduler retries.
package coord

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable wraps every error of a Redis that cannot be reached or
// that failed a command.
var ErrUnavailable = errors.New("the coordinator (Redis) is unreachable")

// ErrLocked is returned when another process holds a lock.
var ErrLocked = errors.New("another run holds the lock")

// Defaults.
const (
	// DefaultTimeout bounds a dial and each command, so that a Redis that
	// went away is noticed within a few seconds.
	DefaultTimeout = 2 * time.Second
	// DefaultTTL is how long a lock or a reservation outlives its process;
	// a live process refreshes them every DefaultTTL/3.
	DefaultTTL = 30 * time.Second
	// keyPrefix starts every key.
	keyPrefix = "serpstat-export:"
)

// Options are a Coordinator's settings; zero fields take the defaults.
type Options struct {
	// Password is used when the URL carries none.
	Password string
	// Timeout bounds a dial and each command; 0 means DefaultTimeout.
	Timeout time.Duration
	// TTL is how long locks and reservations outlive a dead process; 0
	// means DefaultTTL.
	TTL time.Duration
	// Logger gets refresh failures at warn level; nil discards.
	Logger *slog.Logger
}

// Coordinator is one process's connection to the shared state of an
// account. Create it with Open and Close it at the end; it is safe for
// concurrent use.
type Coordinator struct {
	rdb  *redis.Client
	ns   string // keyPrefix + hash of the token + ":"
	id   string // this process: host, pid and a random part
	addr string // the URL without its password
	ttl  time.Duration
	log  *slog.Logger

	mu    sync.Mutex
	locks map[string]bool            // lock keys held
	held  map[string]map[string]bool // reservation zset key -> members
	stop  chan struct{}
	done  chan struct{}
}

// Redact returns rawURL with its password, if any, replaced by xxxxx: the
// only form of a coordinator URL that may reach a log or an error.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		// Never echo what could not be parsed: it may hold a password.
		if i := strings.LastIndexByte(rawURL, '@'); i >= 0 {
			if j := strings.Index(rawURL, "://"); j >= 0 && j < i {
				return rawURL[:j+3] + "xxxxx@" + rawURL[i+1:]
			}
			return "xxxxx@" + rawURL[i+1:]
		}
		return rawURL
	}
	return u.Redacted()
}

// Check validates a coordinator URL without connecting.
func Check(rawURL string) error {
	_, err := parse(rawURL, "", 0)
	return err
}

func parse(rawURL, password string, timeout time.Duration) (*redis.Options, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, fmt.Errorf("%s is not a Redis URL: use redis://HOST:PORT/DB (rediss:// for TLS)", Redact(rawURL))
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		// go-redis's message never holds the password, but the URL may.
		return nil, fmt.Errorf("%s: %s", Redact(rawURL), strings.ReplaceAll(err.Error(), rawURL, Redact(rawURL)))
	}
	if o.Password == "" {
		o.Password = password
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = timeout, timeout, timeout
	o.PoolTimeout = timeout + time.Second
	o.MaxRetries = 1
	o.ContextTimeoutEnabled = true
	// No CLIENT SETINFO handshake: older servers and proxies refuse it.
	o.DisableIdentity = true
	return o, nil
}

// Open connects to the Redis at rawURL (redis://HOST:PORT/DB, rediss://
// for TLS, a password in the URL or in opts) and checks that it answers.
// token is the API token: its hash names the account's keys.
func Open(ctx context.Context, rawURL, token string, opts Options) (*Coordinator, error) {
	ro, err := parse(rawURL, opts.Password, opts.Timeout)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(ro)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, unavailable(Redact(rawURL), err)
	}
	sum := sha256.Sum256([]byte("serpstat-export token\x00" + token))
	host, _ := os.Hostname()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	c := &Coordinator{
		rdb:   rdb,
		ns:    keyPrefix + hex.EncodeToString(sum[:12]) + ":",
		id:    fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(rnd[:])),
		addr:  Redact(rawURL),
		ttl:   opts.TTL,
		log:   opts.Logger,
		locks: map[string]bool{},
		held:  map[string]map[string]bool{},
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if c.ttl <= 0 {
		c.ttl = DefaultTTL
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	go c.refresh()
	return c, nil
}

// Addr is the coordinator's URL without its password.
func (c *Coordinator) Addr() string { return c.addr }

// ID names this process in locks: host, pid and a random part.
func (c *Coordinator) ID() string { return c.id }

// Namespace is the prefix of this account's keys (a hash of the token).
func (c *Coordinator) Namespace() string { return c.ns }

// unavailable wraps a Redis error in ErrUnavailable.
func unavailable(addr string, err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w at %s: %v", ErrUnavailable, addr, err)
}

func (c *Coordinator) fail(err error) error { return unavailable(c.addr, err) }

// refresh keeps this process's locks and reservations alive until Close.
func (c *Coordinator) refresh() {
	defer close(c.done)
	t := time.NewTicker(c.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if err := c.refreshOnce(context.Background()); err != nil {
			c.log.Warn("could not refresh the coordinator's locks and reservations", "error", err)
		}
	}
}

func (c *Coordinator) refreshOnce(ctx context.Context) error {
	c.mu.Lock()
	var locks []string
	for k := range c.locks {
		locks = append(locks, k)
	}
	held := map[string][]string{}
	for k, ms := range c.held {
		for m := range ms {
			held[k] = append(held[k], m)
		}
	}
	c.mu.Unlock()
	ttl := c.ttl.Milliseconds()
	for _, k := range locks {
		if err := refreshLock.Run(ctx, c.rdb, []string{k}, c.id, ttl).Err(); err != nil {
			return c.fail(err)
		}
	}
	for k, ms := range held {
		args := []any{ttl}
		for _, m := range ms {
			args = append(args, m)
		}
		if err := refreshHolds.Run(ctx, c.rdb, []string{k}, args...).Err(); err != nil {
			return c.fail(err)
		}
	}
	return nil
}

// Close releases this process's locks, stops refreshing and closes the
// connection. Reservations not settled are left to expire, and are
// charged in full then.
func (c *Coordinator) Close() error {
	select {
	case <-c.stop:
		return nil
	default:
	}
	close(c.stop)
	<-c.done
	c.mu.Lock()
	var locks []string
	for k := range c.locks {
		locks = append(locks, k)
	}
	c.locks = map[string]bool{}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	for _, k := range locks {
		_ = releaseLock.Run(ctx, c.rdb, []string{k}, c.id).Err()
	}
	return c.rdb.Close()
}

// hashName is a short, stable hash of a name, for keys.
func hashName(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}
