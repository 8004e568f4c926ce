package sink_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/sink"
)

// querySetter is a writer with the optional leading query column.
type querySetter interface {
	sink.RowWriter
	SetQuery(string)
}

func TestQueryColumn(t *testing.T) {
	rows := []serpstat.Row{{Values: []serpstat.Value{
		{Str: "https://a.example/"}, {Str: "https://q.example/"}, {Str: "follow"}, {Str: "href"}, {Int: 3},
		{Str: "=1+2"}, {Str: "2024-01-02"}, {Str: "2024-02-03 04:05:06"}, {Int: 7},
	}}}
	for _, f := range []sink.Format{sink.FormatCSV, sink.FormatNDJSON, sink.FormatParquet} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			w, err := sink.New(f, &buf, backlinks.NewBacklinks)
			require.NoError(t, err)
			switch x := w.(type) {
			case *sink.CSV:
				x.QueryColumn = true
			case *sink.NDJSON:
				x.QueryColumn = true
			case *sink.Parquet:
				x.QueryColumn = true
			}
			qs := w.(querySetter)
			qs.SetQuery("one.example")
			require.NoError(t, w.Write(rows))
			qs.SetQuery(`two "2".example`)
			require.NoError(t, w.Write(rows))
			require.NoError(t, w.Close())
			switch f {
			case sink.FormatCSV:
				lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
				require.Len(t, lines, 3)
				assert.Equal(t, "query,"+strings.Join(backlinks.NewBacklinks.OutputColumns(), ","), lines[0])
				assert.True(t, strings.HasPrefix(lines[1], "one.example,https://a.example/"))
				assert.True(t, strings.HasPrefix(lines[2], `"two ""2"".example",https://a.example/`))
			case sink.FormatNDJSON:
				lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
				require.Len(t, lines, 2)
				var got map[string]any
				require.NoError(t, json.Unmarshal([]byte(lines[1]), &got))
				assert.Equal(t, `two "2".example`, got["query"])
				assert.Equal(t, "=1+2", got["link_text"])
				assert.True(t, strings.HasPrefix(lines[0], `{"query":"one.example","url_from":`))
			case sink.FormatParquet:
				type row struct {
					Query   string `parquet:"query"`
					URLFrom string `parquet:"url_from"`
				}
				got, err := parquet.Read[row](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
				require.NoError(t, err)
				require.Len(t, got, 2)
				assert.Equal(t, "one.example", got[0].Query)
				assert.Equal(t, `two "2".example`, got[1].Query)
				f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
				require.NoError(t, err)
				assert.Equal(t, "query", f.Schema().Fields()[0].Name(), "the query column leads")
			}
		})
	}
}
