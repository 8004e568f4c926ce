package sink_test

import (
	"fmt"
	"os"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/sink"
)

// exampleRows are rows of new-backlinks, a Value a column of
// backlinks.NewBacklinks.Columns, as Method.DecodeAnswer gives them.
var exampleRows = []serpstat.Row{{Values: []serpstat.Value{
	{Str: "https://blog.example/post?a=1&b=2"}, {Str: "https://target.test/"},
	{Str: "follow"}, {Str: "href"}, {Int: 12}, {Str: `the "best" guide, really`},
	{Str: "2024-03-01"}, {Str: "2024-03-05 12:34:56"}, {Int: 37},
}}, {Values: []serpstat.Value{
	{Str: "https://forum.example/t/1"}, {Str: "https://target.test/café"},
	{Str: "nofollow"}, {Str: "img"}, {Int: 0}, {Str: "=1+1"},
	{Str: "2023-12-31"}, {Str: "2024-01-02 00:00:00"}, {Null: true},
}}}

// threatRows are rows of threats: lists, a null, and a key no column
// knows (kept in the extra column).
var threatRows = []serpstat.Row{{Values: []serpstat.Value{
	{Str: "bad.example"}, {Str: "shop.example"}, {Int: 3},
	{List: []string{"windows", "linux"}}, {List: []string{"malware"}}, {Str: "2025-01-23"},
}, Extra: []byte(`{"risk":"high"}`)}, {Values: []serpstat.Value{
	{Str: "worse.example"}, {Str: "shop.example"}, {Null: true},
	{List: []string{}}, {Null: true}, {Str: "2025-02-05"},
}}}

func ExampleNewCSV() {
	w := sink.NewCSV(os.Stdout, backlinks.NewBacklinks)
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
	// https://forum.example/t/1,https://target.test/café,nofollow,img,0,'=1+1,2023-12-31,2024-01-02 00:00:00,
}

// Lists are JSON arrays in a cell; unknown keys fill the extra column.
func ExampleNewCSV_threats() {
	w := sink.NewCSV(os.Stdout, backlinks.Threats)
	if err := w.Write(threatRows); err != nil {
		fmt.Println(err)
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// domain,domain_link,links_count,platform_type,threat_type,lastupdate,extra
	// bad.example,shop.example,3,"[""windows"",""linux""]","[""malware""]",2025-01-23,"{""risk"":""high""}"
	// worse.example,shop.example,,[],,2025-02-05,
}

func ExampleNewNDJSON() {
	w := sink.NewNDJSON(os.Stdout, backlinks.NewBacklinks)
	if err := w.Write(exampleRows); err != nil {
		fmt.Println(err)
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"url_from":"https://blog.example/post?a=1&b=2","url_to":"https://target.test/","nofollow":"follow","link_type":"href","links_ext":12,"link_text":"the \"best\" guide, really","first_seen":"2024-03-01","last_visited":"2024-03-05 12:34:56","domain_rank":37}
	// {"url_from":"https://forum.example/t/1","url_to":"https://target.test/café","nofollow":"nofollow","link_type":"img","links_ext":0,"link_text":"=1+1","first_seen":"2023-12-31","last_visited":"2024-01-02 00:00:00","domain_rank":null}
}

func ExampleNewNDJSON_threats() {
	w := sink.NewNDJSON(os.Stdout, backlinks.Threats)
	if err := w.Write(threatRows); err != nil {
		fmt.Println(err)
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"domain":"bad.example","domain_link":"shop.example","links_count":3,"platform_type":["windows","linux"],"threat_type":["malware"],"lastupdate":"2025-01-23","extra":{"risk":"high"}}
	// {"domain":"worse.example","domain_link":"shop.example","links_count":null,"platform_type":[],"threat_type":null,"lastupdate":"2025-02-05","extra":null}
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
	w, err := sink.New(format, f, backlinks.NewBacklinks)
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
