package coord_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/serpstat-export/serpstat-export/coord"
	"github.com/serpstat-export/serpstat-export/pager"
)

// Two processes of one account share a budget of 1,500 credits a day:
// the second one's request does not fit while the first one's is in
// flight.
func Example() {
	redis, _ := miniredis.Run()
	defer redis.Close()
	ctx := context.Background()
	url := "redis://" + redis.Addr() + "/0"
	first, _ := coord.Open(ctx, url, "the API token", coord.Options{})
	defer first.Close()
	second, _ := coord.Open(ctx, url, "the API token", coord.Options{})
	defer second.Close()

	inFlight, _ := first.Account(1500, 24*time.Hour).Reserve(ctx, 1000)
	_, err := second.Account(1500, 24*time.Hour).Reserve(ctx, 1000)
	fmt.Println(errors.Is(err, pager.ErrBudgetExhausted))
	inFlight.Settle(ctx, 400) // the answer had 400 rows
	_, err = second.Account(1500, 24*time.Hour).Reserve(ctx, 1000)
	fmt.Println(err)

	fmt.Println(second.Lock(ctx, "example.com to s3://lake/x.parquet"))
	fmt.Println(errors.Is(first.Lock(ctx, "example.com to s3://lake/x.parquet"), coord.ErrLocked))
	// Output:
	// true
	// <nil>
	// <nil>
	// true
}
