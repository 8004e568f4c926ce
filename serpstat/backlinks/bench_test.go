package backlinks_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// BenchmarkDecodeAnswer decodes a 1,000-row getNewBacklinks answer with
// the one generic decoder.
func BenchmarkDecodeAnswer(b *testing.B) {
	var sb strings.Builder
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"url_from":"https://www.example%d.com/some/path/page-%d.html","url_to":"https://serpstat.com/blog/how-to-%d","nofollow":"follow","link_type":"href","links_ext":%d,"link_text":"Read Core Updates for SEO %d","first_seen":"2023-07-02","last_visited":"2024-11-23 21:32:02","domain_rank":"%d"}`, i, i, i, i, i, i)
	}
	raw := answer(sb.String())
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := backlinks.NewBacklinks.DecodeAnswer(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "rows/s")
}
