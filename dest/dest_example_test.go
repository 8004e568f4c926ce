package dest_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/serpstat-export/serpstat-export/dest"
)

func ExampleJoin() {
	fmt.Println(dest.Join("s3://lake/backlinks/dt=2026-01-31/part-1.parquet?region=eu-west-1", "_SUCCESS"))
	fmt.Println(dest.Join("out/backlinks.csv", "_manifest.json"))
	// Output:
	// s3://lake/backlinks/dt=2026-01-31/_SUCCESS?region=eu-west-1
	// out/_manifest.json
}

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// A path, file:///..., s3://bucket/key, gs://... or azblob://...
	target := filepath.Join(dir, "backlinks.csv")
	d, err := dest.Open(ctx, target, dest.S3Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Abort() // nothing appears unless committed
	fmt.Fprintln(d, "url_from,url_to")
	if err := d.Commit(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Size(), d.SHA256())

	_, err = dest.ReadAll(ctx, dest.Join(target, "_SUCCESS"), dest.S3Options{})
	fmt.Println("no _SUCCESS yet:", errors.Is(err, fs.ErrNotExist))
	// Output:
	// 16 9be3c69c6a2519b4f1d0cf4e23cb23af9bac3399a4efec8196e1dc69f5dd35ab
	// no _SUCCESS yet: true
}
