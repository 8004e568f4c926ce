package sink

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestNullFields: a field the API answered null is an empty CSV cell, a
// JSON null in NDJSON and a Parquet null; the others are written as usual.
func TestNullFields(t *testing.T) {
	rows := []serpstattest.Backlink{
		{URLFrom: "https://a.example/", URLTo: "https://b.example/", Nofollow: "", LinkType: "href", LinksExt: 0,
			LinkText: "", FirstSeen: "2024-01-02", LastVisited: "2024-02-03 04:05:06", DomainRank: 0,
			Null: 1<<serpstattest.ColLinksExt | 1<<serpstattest.ColLinkText | 1<<serpstattest.ColDomainRank | 1<<serpstattest.ColNofollow},
		{URLFrom: "https://c.example/", URLTo: "https://d.example/", Nofollow: "ugc", LinkType: "image", LinksExt: 0,
			LinkText: "", FirstSeen: "2024-01-02", LastVisited: "2024-02-03 04:05:06", DomainRank: 0},
	}
	var csvOut, ndOut, pqOut bytes.Buffer
	for _, w := range []RowWriter{NewCSV(&csvOut, nb), NewNDJSON(&ndOut, nb), NewParquet(&pqOut, nb)} {
		require.NoError(t, w.Write(backlinkRows(rows)))
		require.NoError(t, w.Close())
	}
	assert.Equal(t, "url_from,url_to,nofollow,link_type,links_ext,link_text,first_seen,last_visited,domain_rank\n"+
		"https://a.example/,https://b.example/,,href,,,2024-01-02,2024-02-03 04:05:06,\n"+
		"https://c.example/,https://d.example/,ugc,image,0,,2024-01-02,2024-02-03 04:05:06,0\n", csvOut.String())
	assert.Equal(t, `{"url_from":"https://a.example/","url_to":"https://b.example/","nofollow":null,"link_type":"href","links_ext":null,"link_text":null,"first_seen":"2024-01-02","last_visited":"2024-02-03 04:05:06","domain_rank":null}`+"\n"+
		`{"url_from":"https://c.example/","url_to":"https://d.example/","nofollow":"ugc","link_type":"image","links_ext":0,"link_text":"","first_seen":"2024-01-02","last_visited":"2024-02-03 04:05:06","domain_rank":0}`+"\n", ndOut.String())
	assert.Equal(t, rows, readParquet(t, pqOut.Bytes()))
	// The spool stores rows as NDJSON: they come back with their nulls.
	assert.Equal(t, rows, readNDJSON(t, ndOut.Bytes()))
}
