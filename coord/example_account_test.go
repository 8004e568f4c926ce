package coord_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/serpstat-export/serpstat-export/coord"
)

// A run is killed with two requests in flight; its resume, the same
// command again, charges them at once in full (the API may have billed
// them), and counts once what its checkpoint says was spent.
func ExampleAccount_Start() {
	redis, _ := miniredis.Run()
	defer redis.Close()
	ctx := context.Background()
	url := "redis://" + redis.Addr() + "/0"
	const run = "export example.com to backlinks.parquet"

	killed, _ := coord.Open(ctx, url, "the API token", coord.Options{})
	defer killed.Close() // Close settles nothing: the holds stay in flight
	acct := killed.Account(10000, 24*time.Hour)
	_, _ = acct.Start(ctx, run)
	page1, _ := acct.Reserve(ctx, 1000)
	page1.Settle(ctx, 1000)
	_, _ = acct.Reserve(ctx, 1000) // in flight: kill -9
	_, _ = acct.Reserve(ctx, 1000)

	resumed, _ := coord.Open(ctx, url, "the API token", coord.Options{})
	defer resumed.Close()
	acct = resumed.Account(10000, 24*time.Hour)
	charged, _ := acct.Start(ctx, run)
	fmt.Println("charged at once:", charged)
	acct.Carry(3000) // the checkpoint: 3,000 committed, all counted already
	next, _ := acct.Reserve(ctx, 1000)
	next.Settle(ctx, 1000)
	spent, _ := acct.Spent(ctx)
	fmt.Println("spent:", spent)
	// Output:
	// charged at once: 2000
	// spent: 4000
}
