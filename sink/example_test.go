package sink_test

import (
	"fmt"
	"os"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/sink"
)

var exampleRows = []serpstat.Backlink{{
	URLFrom: "https://blog.example/post?a=1&b=2", URLTo: "https://target.test/",
	Nofollow: "follow", LinkType: "href", LinksExt: 12, LinkText: `the "best" guide, really`,
	FirstSeen: "2024-03-01", LastVisited: "2024-03-05 12:34:56", DomainRank: 37,
}, {
	URLFrom: "https://forum.example/t/1", URLTo: "https://target.test/café",
	Nofollow: "nofollow", LinkType: "img", LinksExt: 0, LinkText: "=1+1",
	FirstSeen: "2023-12-31", LastVisited: "2024-01-02 00:00:00", DomainRank: 0,
}}

func ExampleNewCSV() {
	w := sink.NewCSV(os.Stdout)
	w.Neutralize = true // '=1+1 is text to a spreadsheet
	if err := w.Write(exampleRows); err != nil {
		fmt.Println(err)
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// url_from,url_to,nofollow,link_type,links_ext,link_text,first_seen,last_visited,domain_rank
	// https://blog.example/post?a=1&b=2,https://target.test/,follow,href,12,"the ""best"" guide, really",2024-03-01,2024-03-05 12:34:56,37
	// https://forum.example/t/1,https://target.test/café,nofollow,img,0,'=1+1,2023-12-31,2024-01-02 00:00:00,0
}

func ExampleNewNDJSON() {
	w := sink.NewNDJSON(os.Stdout)
	if err := w.Write(exampleRows); err != nil {
		fmt.Println(err)
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"url_from":"https://blog.example/post?a=1&b=2","url_to":"https://target.test/","nofollow":"follow","link_type":"href","links_ext":12,"link_text":"the \"best\" guide, really","first_seen":"2024-03-01","last_visited":"2024-03-05 12:34:56","domain_rank":37}
	// {"url_from":"https://forum.example/t/1","url_to":"https://target.test/café","nofollow":"nofollow","link_type":"img","links_ext":0,"link_text":"=1+1","first_seen":"2023-12-31","last_visited":"2024-01-02 00:00:00","domain_rank":0}
}

// A dest.File commits what a writer wrote, whatever the format, in one rename.
func Example_file() {
	dir, err := os.MkdirTemp("", "sink-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := dir + "/backlinks.parquet"

	f, err := dest.Create(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Abort() // removes the temporary file unless committed

	format, err := sink.FormatFor(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	w, err := sink.New(format, f)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := w.Write(exampleRows); err != nil {
		fmt.Println(err)
		return
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}
	if err := f.Commit(); err != nil {
		fmt.Println(err)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(format, e.Name())
	}
	// Output:
	// parquet backlinks.parquet
}
