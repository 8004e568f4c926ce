package coord

import (
	"context"
	"fmt"

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
	releaseLock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
)

// Lock takes the lock named name (any string: it is hashed) for this
// process until Close, refreshed while the process lives and expiring
// DefaultTTL after it dies. When another process holds it the error wraps
// ErrLocked and names the holder (host:pid:random).
func (c *Coordinator) Lock(ctx context.Context, name string) error {
	key := c.ns + "lock:" + hashName(name)
	holder, err := takeLock.Run(ctx, c.rdb, []string{key}, c.id, c.ttl.Milliseconds()).Text()
	if err != nil {
		return c.fail(err)
	}
	if holder != c.id {
		return fmt.Errorf("%w: %s", ErrLocked, holder)
	}
	c.mu.Lock()
	c.locks[key] = true
	c.mu.Unlock()
	return nil
}
