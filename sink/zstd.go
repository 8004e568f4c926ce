package sink

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// zstdWindow is the window of zstdCodec's encoder. parquet-go compresses a
// page at a time (at most about parquet.DefaultPageBufferSize, 256 KiB, of
// values), so a window of 1 MiB loses no match.
const zstdWindow = 1 << 20

// zstdCodec is the ZSTD Parquet codec with a small window, and one encoder
// for the writer that owns it.
//
// parquet.Zstd keeps its encoders in a sync.Pool and leaves their window at
// the 8 MiB default, for which each encoder allocates a 16 MiB history: a
// writer holding two measured 32 MiB of its ~43 MiB of heap, more than its
// row group, and a pool may hold one encoder a P. With a 1 MiB window the
// files are the same size.
type zstdCodec struct {
	mu  sync.Mutex // parquet-go may compress pages from several goroutines
	enc *zstd.Encoder
}

func (*zstdCodec) String() string { return "ZSTD" }

func (*zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

// Encode compresses src as one zstd frame appended to dst[:0].
func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.enc == nil {
		enc, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
		)
		if err != nil {
			return nil, err
		}
		c.enc = enc
	}
	return c.enc.EncodeAll(src, dst[:0]), nil
}

// Decode decompresses src into dst[:0] with parquet-go's own codec; the
// writer never calls it.
func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	return parquet.Zstd.Decode(dst, src)
}
