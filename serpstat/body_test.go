package serpstat

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadBody reads bodies of known, wrong and unknown size, with and
// without a guess, whole or a byte at a time, and proves that a body of
// known size takes one buffer of that size and one of unknown size one
// buffer of a little more than the guess.
func TestReadBody(t *testing.T) {
	body := strings.Repeat("0123456789", 100) // 1,000 bytes
	for _, tt := range []struct {
		name  string
		size  int64 // the Content-Length; -1 unknown
		hint  int64 // the previous answer's size; 0 none
		limit int64
		want  string
		cap   int // the buffer's capacity, when it must be that
	}{
		{"known size", 1000, 0, 5000, body, 1001},
		{"known size, a guess too", 1000, 300, 5000, body, 1001},
		{"unknown size, no guess", -1, 0, 5000, body, 0},
		{"unknown size, the guess", -1, 1000, 5000, body, 1000 + 125 + 512},
		{"unknown size, a guess too small", -1, 300, 5000, body, 0},
		{"unknown size, a guess past the limit", -1, 9000, 5000, body, 5001},
		{"longer than it said", 600, 0, 5000, body, 0},
		{"shorter than it said", 1500, 0, 5000, body, 1501},
		{"over the limit: limit+1 bytes", 1000, 0, 700, body[:701], 0},
		{"unknown size over the limit", -1, 1000, 700, body[:701], 0},
		{"said over the limit", 5000, 0, 700, body[:701], 0},
	} {
		for _, one := range []bool{false, true} {
			name := tt.name
			var r io.Reader = strings.NewReader(body)
			if one {
				name += ", a byte at a time"
				r = iotest.OneByteReader(r)
			}
			t.Run(name, func(t *testing.T) {
				got, err := readBody(r, tt.size, tt.hint, tt.limit)
				require.NoError(t, err)
				assert.Equal(t, tt.want, string(got))
				if tt.cap > 0 {
					assert.Equal(t, tt.cap, cap(got))
				}
			})
		}
	}
}

// TestReadBodyEmpty reads an empty body, of size 0 (which net/http also
// gives for an unknown size read with no body).
func TestReadBodyEmpty(t *testing.T) {
	got, err := readBody(strings.NewReader(""), 0, 1000, 5000)
	require.NoError(t, err)
	assert.Empty(t, got)
}

// TestReadBodyError returns what was read with the reader's error.
func TestReadBodyError(t *testing.T) {
	boom := errors.New("connection reset")
	for _, size := range []int64{-1, 1000} {
		r := io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(boom))
		got, err := readBody(r, size, 100, 5000)
		require.ErrorIs(t, err, boom)
		assert.Equal(t, "abc", string(got))
	}
}
