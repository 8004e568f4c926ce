package coord

import (
	"context"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

var (
	// KEYS[1] the lock; ARGV[1] holder, ARGV[2] ttl ms. Returns the
	// holder: ARGV[1] when taken (or already ours), else the other one.
	takeLock = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]`)
	refreshLock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	// KEYS[1] the lock; ARGV[1] the dead holder, ARGV[2] us, ARGV[3] ttl.
	stealLock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return ARGV[2]
end
return redis.call('GET', KEYS[1]) or ''`)
	releaseLock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
)

// Lock takes the lock named name (any string: it is hashed) for this
// process until Close, refreshed while the process lives and expiring
// DefaultTTL after it dies; a lock whose holder was a process of this
// host that no longer runs is taken over at once, as a flock would be.
// When another process holds it the error is a *LockedError, which wraps
// ErrLocked and names the holder (host:pid:random). Taking a lock this
// process holds already succeeds: the goroutines of one run share its
// locks.
func (c *Coordinator) Lock(ctx context.Context, name string) error {
	key := c.ns + "lock:" + hashName(name)
	holder, err := takeLock.Run(ctx, c.rdb, []string{key}, c.id, c.ttl.Milliseconds()).Text()
	if err != nil {
		return c.fail(err)
	}
	if holder != c.id && c.deadHere(holder) {
		holder, err = stealLock.Run(ctx, c.rdb, []string{key}, holder, c.id, c.ttl.Milliseconds()).Text()
		if err != nil {
			return c.fail(err)
		}
	}
	if holder != c.id {
		return &LockedError{Holder: holder}
	}
	c.mu.Lock()
	c.locks[key] = true
	c.mu.Unlock()
	return nil
}

// LockedError is Lock's error when another process holds the lock. It
// wraps ErrLocked.
type LockedError struct {
	// Holder is the process holding the lock: host:pid:random.
	Holder string
}

func (e *LockedError) Error() string { return ErrLocked.Error() + ": " + e.Holder }

func (e *LockedError) Unwrap() error { return ErrLocked }

// Run is the holder as host:pid, for messages: the run to wait for.
func (e *LockedError) Run() string {
	if i := strings.LastIndexByte(e.Holder, ':'); i > 0 {
		return e.Holder[:i]
	}
	return e.Holder
}

// deadHere tells whether holder (host:pid:random) was a process of this
// host that is gone.
func (c *Coordinator) deadHere(holder string) bool {
	parts := strings.Split(holder, ":")
	if len(parts) < 3 {
		return false
	}
	host, _ := os.Hostname()
	pid, err := strconv.Atoi(parts[len(parts)-2])
	return err == nil && strings.Join(parts[:len(parts)-2], ":") == host && pid != os.Getpid() && processGone(pid)
}
