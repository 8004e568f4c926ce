package serpstat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// referenceDecode decodes raw as Client.call does without the fast path:
// encoding/json, the reference.
func referenceDecode(raw []byte) (serpstat.BacklinksPage, error) {
	var page serpstat.BacklinksPage
	err := serpstat.DecodeGeneric(raw, &page)
	return page, err
}

// checkDecode runs the fast decoder on raw and, when it accepts, checks its
// page against encoding/json's. It returns whether the fast decoder accepted.
func checkDecode(t testing.TB, raw []byte) bool {
	t.Helper()
	var fast serpstat.BacklinksPage
	ok := serpstat.DecodeNewBacklinks(raw, &fast)
	if !ok {
		fast = serpstat.BacklinksPage{}
	}
	if !ok {
		if !reflect.DeepEqual(fast, serpstat.BacklinksPage{}) {
			t.Fatalf("fast decoder refused %q but changed the page: %+v", raw, fast)
		}
		return false
	}
	ref, err := referenceDecode(raw)
	if err != nil {
		t.Fatalf("fast decoder accepted %q, encoding/json fails: %v", raw, err)
	}
	if !reflect.DeepEqual(fast, ref) {
		t.Fatalf("fast and encoding/json differ on %q:\nfast %#v\njson %#v", raw, fast, ref)
	}
	return true
}

const row1 = `{"url_from":"https://a.example/x","url_to":"https://b.example/","nofollow":"follow","link_type":"href",` +
	`"links_ext":12,"link_text":"Read more","first_seen":"2024-01-02","last_visited":"2024-02-03 04:05:06","domain_rank":25}`

const sum1 = `{"left_lines":999,"page":1,"count":1,"total":1,"sort":"check","order":"DESC"}`

// wrap makes an answer of one row (in its data array) with summary_info.
func wrap(row string) string {
	return `{"id":"1","result":{"data":[` + row + `],"summary_info":` + sum1 + `}}`
}

// rowWith is row1 with the value of key replaced by val (a JSON text).
func rowWith(key, val string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(row1), &m); err != nil {
		panic(err)
	}
	var b strings.Builder
	b.WriteString("{")
	for i, k := range serpstat.Columns {
		if i > 0 {
			b.WriteString(",")
		}
		v := string(m[k])
		if k == key {
			v = val
		}
		fmt.Fprintf(&b, "%q:%s", k, v)
	}
	b.WriteString("}")
	return b.String()
}

func TestDecodeNewBacklinksAccepts(t *testing.T) {
	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	cases := map[string]string{
		"plain":           wrap(row1),
		"id number":       strings.Replace(wrap(row1), `"id":"1"`, `"id":17`, 1),
		"no id":           strings.Replace(wrap(row1), `"id":"1",`, ``, 1),
		"id last":         `{"result":{"data":[` + row1 + `]},"id":-1.5e3}`,
		"empty data":      `{"id":"1","result":{"data":[],"summary_info":` + sum1 + `}}`,
		"empty result":    `{"id":"1","result":{}}`,
		"no data":         `{"result":{"summary_info":` + sum1 + `}}`,
		"summary first":   `{"result":{"summary_info":` + sum1 + `,"data":[` + row1 + `,` + row1 + `]}}`,
		"empty row":       wrap(`{}`),
		"empty summary":   `{"result":{"data":[` + row1 + `],"summary_info":{}}}`,
		"whitespace":      " \n\t{ \"id\" : \"1\" ,\r\n \"result\" : { \"data\" : [ \n" + "{ \"url_from\"\t:\n\"f\" ,\r\n\"domain_rank\" : 3 ,\"links_ext\": \"4\"\n}" + " ] , \"summary_info\" : { \"page\" : 3 , \"sort\" : \"x\" } } } \n",
		"reversed keys":   wrap(`{"domain_rank":1,"last_visited":"b","first_seen":"a","link_text":"t","links_ext":2,"link_type":"href","nofollow":"ugc","url_to":"u","url_from":"f"}`),
		"unknown keys":    `{"id":{"a":[1,{"b":null}],"c":true},"jsonrpc":"2.0","result":{"extra":[false,"x",-0.5E+2,{}],"data":[{"new":{"x":[[]]},"url_from":"f","ключ":"значение","":0}],"summary_info":{"sort":"s","more":"\u00e9\n"}},"z":null}`,
		"deep unknown":    `{"id":` + deep + `,"result":{"data":[]}}`,
		"missing fields":  wrap(`{"url_from":"only"}`),
		"null strings":    wrap(`{"url_from":null,"url_to":null,"nofollow":null,"link_type":null,"link_text":null,"first_seen":null,"last_visited":null}`),
		"null sort":       `{"result":{"data":[],"summary_info":{"sort":null,"order":null,"page":null}}}`,
		"escapes":         wrap(rowWith("link_text", `"q\" b\\ s\/ \b\f\n\r\t \u00e9\u00C9 \u20ac \u2028 \u0000 end"`)),
		"only escapes":    wrap(rowWith("link_text", `"\n"`)),
		"surrogate pair":  wrap(rowWith("link_text", `"\ud83d\ude80 \uD83D\uDE00\uDBFF\uDFFF"`)),
		"lone high":       wrap(rowWith("link_text", `"a\ud800b"`)),
		"lone high end":   wrap(rowWith("link_text", `"a\ud800"`)),
		"lone low":        wrap(rowWith("link_text", `"\udc00x"`)),
		"high high low":   wrap(rowWith("link_text", `"\ud800\ud800\udc00"`)),
		"high then bmp":   wrap(rowWith("link_text", `"\ud800\u0041"`)),
		"low then high":   wrap(rowWith("link_text", `"\udc00\ud800"`)),
		"high escape n":   wrap(rowWith("link_text", `"\ud800\n"`)),
		"raw unicode":     wrap(rowWith("link_text", "\"Café 日本語 🚀 \u2028 👨‍👩‍👧 مرحبا\"")),
		"int string":      wrap(rowWith("domain_rank", `"25"`)),
		"int neg":         wrap(rowWith("domain_rank", `-7`)),
		"int neg string":  wrap(rowWith("domain_rank", `"-7"`)),
		"int zero":        wrap(rowWith("domain_rank", `0`)),
		"int minus zero":  wrap(rowWith("domain_rank", `-0`)),
		"int empty":       wrap(rowWith("domain_rank", `""`)),
		"int null":        wrap(rowWith("domain_rank", `null`)),
		"int spaces":      wrap(rowWith("domain_rank", `" 25 "`)),
		"int escaped":     wrap(rowWith("domain_rank", `"\u0032\u0035"`)),
		"int lead zeros":  wrap(rowWith("domain_rank", `"007"`)),
		"int plus":        wrap(rowWith("domain_rank", `"+5"`)),
		"float":           wrap(rowWith("domain_rank", `2.9`)),
		"float neg":       wrap(rowWith("domain_rank", `-2.9`)),
		"float string":    wrap(rowWith("domain_rank", `"2.9"`)),
		"exponent":        wrap(rowWith("links_ext", `1e3`)),
		"exponent E+":     wrap(rowWith("links_ext", `1E+2`)),
		"exponent str":    wrap(rowWith("links_ext", `"1e3"`)),
		"18 digits":       wrap(rowWith("links_ext", `999999999999999999`)),
		"19 digits":       wrap(rowWith("links_ext", `9223372036854775807`)),
		"min int64":       wrap(rowWith("links_ext", `-9223372036854775808`)),
		"19 overflow":     wrap(rowWith("links_ext", `9999999999999999999`)),
		"19 overflow str": wrap(rowWith("links_ext", `"-9999999999999999999"`)),
		"20 digits":       wrap(rowWith("links_ext", `12345678901234567890`)),
		"20 digits str":   wrap(rowWith("links_ext", `"12345678901234567890"`)),
		"big float":       wrap(rowWith("links_ext", `1e18`)),
		"summary ints":    `{"result":{"data":[],"summary_info":{"left_lines":"5","page":"","count":null,"total":1.5}}}`,
		"total null":      `{"result":{"data":[],"summary_info":{"total":null,"order":"desc"}}}`,
		"total string":    `{"result":{"data":[],"summary_info":{"total":"62","order":"DESC"}}}`,
		"links null":      wrap(rowWith("links_ext", `null`)),
		"all null":        wrap(`{"url_from":null,"url_to":null,"nofollow":null,"link_type":null,"links_ext":null,"link_text":null,"first_seen":null,"last_visited":null,"domain_rank":null}`),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			if !checkDecode(t, []byte(body)) {
				ref, err := referenceDecode([]byte(body))
				t.Fatalf("fast decoder refused %s (encoding/json: %+v, %v)", body, ref, err)
			}
		})
	}
}

func TestDecodeNewBacklinksFallsBack(t *testing.T) {
	cases := map[string]string{
		"error":            `{"id":"1","error":{"code":32015,"message":"No data found for requested domain"}}`,
		"error null":       `{"id":"1","result":{"data":[]},"error":null}`,
		"error first":      `{"error":null,"result":{"data":[]}}`,
		"no result":        `{"id":"1"}`,
		"result null":      `{"id":"1","result":null}`,
		"result array":     `{"id":"1","result":[]}`,
		"data null":        `{"result":{"data":null}}`,
		"data object":      `{"result":{"data":{}}}`,
		"row null":         `{"result":{"data":[null]}}`,
		"row array":        `{"result":{"data":[[]]}}`,
		"summary null":     `{"result":{"data":[],"summary_info":null}}`,
		"folded result":    `{"Result":{"data":[]}}`,
		"folded error":     `{"result":{"data":[]},"ERROR":null}`,
		"folded data":      `{"result":{"DATA":[]}}`,
		"folded field":     wrap(`{"URL_FROM":"x"}`),
		"unicode fold":     `{"result":{"data":[],"summary_info":{"ſort":"x"}}}`,
		"kelvin fold":      wrap("{\"lin\u212a_text\":\"x\"}"),
		"escaped key":      wrap(`{"url\u005ffrom":"x"}`),
		"escaped unknown":  wrap(`{"\u0041":"x"}`),
		"dup result":       `{"result":{"data":[]},"result":{"data":[]}}`,
		"dup data":         `{"result":{"data":[],"data":[]}}`,
		"dup summary":      `{"result":{"summary_info":{},"summary_info":{}}}`,
		"dup field":        wrap(`{"url_from":"a","url_from":"b"}`),
		"dup null field":   wrap(`{"url_from":"a","url_from":null}`),
		"dup int":          wrap(`{"domain_rank":1,"domain_rank":2}`),
		"dup summary int":  `{"result":{"summary_info":{"page":1,"page":2}}}`,
		"string as number": wrap(rowWith("url_from", `5`)),
		"string as bool":   wrap(rowWith("url_from", `true`)),
		"string as object": wrap(rowWith("url_from", `{}`)),
		"int as bool":      wrap(rowWith("domain_rank", `true`)),
		"int as object":    wrap(rowWith("domain_rank", `{"a":1}`)),
		"int as array":     wrap(rowWith("domain_rank", `[]`)),
		"int bad string":   wrap(rowWith("domain_rank", `"abc"`)),
		"int minus string": wrap(rowWith("domain_rank", `"-"`)),
		"int hex string":   wrap(rowWith("domain_rank", `"0x10"`)),
		"int huge":         wrap(rowWith("domain_rank", `1e400`)),
		"leading zero":     wrap(rowWith("domain_rank", `01`)),
		"neg leading zero": wrap(rowWith("domain_rank", `-01`)),
		"bare minus":       wrap(rowWith("domain_rank", `-`)),
		"dot":              wrap(rowWith("domain_rank", `1.`)),
		"dot exp":          wrap(rowWith("domain_rank", `1.e5`)),
		"exp no digits":    wrap(rowWith("domain_rank", `1e`)),
		"plus number":      wrap(rowWith("domain_rank", `+1`)),
		"number letter":    wrap(rowWith("domain_rank", `12a`)),
		"trailing comma":   `{"result":{"data":[]},}`,
		"trailing comma2":  `{"result":{"data":[` + row1 + `,]}}`,
		"row comma":        wrap(`{"url_from":"a",}`),
		"missing colon":    `{"result" {"data":[]}}`,
		"missing comma":    `{"id":1 "result":{"data":[]}}`,
		"garbage after":    `{"result":{"data":[]}}x`,
		"two values":       `{"result":{"data":[]}} {}`,
		"truncated":        wrap(row1)[:200],
		"bom":              "\ufeff" + `{"result":{"data":[]}}`,
		"not object":       `[]`,
		"empty":            ``,
		"empty object":     `{}`,
		"single quote esc": wrap(rowWith("link_text", `"\'"`)),
		"bad escape":       wrap(rowWith("link_text", `"\x41"`)),
		"bad u escape":     wrap(rowWith("link_text", `"\u12G4"`)),
		"short u escape":   wrap(rowWith("link_text", `"\u12"`)),
		"raw newline":      wrap(rowWith("link_text", "\"a\nb\"")),
		"raw tab":          wrap(rowWith("link_text", "\"a\tb\"")),
		"invalid utf8":     wrap(rowWith("link_text", "\"a\xffb\"")),
		"invalid utf8 key": wrap(`{"\xc3":"x"}`),
		"surrogate utf8":   wrap(rowWith("link_text", "\"\xed\xa0\x80\"")),
		"unterminated":     `{"result":{"data":[{"url_from":"abc`,
		"bad literal":      `{"id":tru,"result":{"data":[]}}`,
		"nul literal":      `{"id":nul}`,
		"too deep":         `{"id":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,"result":{"data":[]}}`,
		"unknown bad":      `{"id":[1,],"result":{"data":[]}}`,
		"unknown bad num":  `{"id":01,"result":{"data":[]}}`,
		"unknown bad str":  `{"id":"\q","result":{"data":[]}}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			if checkDecode(t, []byte(body)) {
				t.Fatalf("fast decoder accepted %q; want a fallback to encoding/json", body)
			}
		})
	}
	t.Run("page not zero", func(t *testing.T) {
		page := serpstat.BacklinksPage{Summary: serpstat.SummaryInfo{Page: 3}}
		if serpstat.DecodeNewBacklinks([]byte(wrap(row1)), &page) {
			t.Fatal("accepted a page that was not zero")
		}
	})
}

// fakeBody is the body of the fake's getNewBacklinks answer for one page.
func fakeBody(t testing.TB, f *serpstattest.Fake, query string, page, size int) []byte {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v4", strings.NewReader(fmt.Sprintf(
		`{"id":"%d","method":%q,"params":{"query":%q,"searchType":"domain","size":%d,"page":%d}}`,
		page, serpstat.MethodNewBacklinks, query, size, page)))
	req.Header.Set("token", serpstattest.DefaultToken)
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("fake answered %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// TestDecodeNewBacklinksFake decodes the fake's answers (awkward text,
// domain_rank as a number or a string) and answers encoded by encoding/json
// from the same rows, and checks each against encoding/json.
func TestDecodeNewBacklinksFake(t *testing.T) {
	f := serpstattest.New(serpstattest.Options{Rows: 5000, DomainRankAsString: true})
	queries := []string{"example.com", "oneday.example.com", "growing.example.com", "пример.рф"}
	rowsDecoded := 0
	for _, q := range queries {
		for page := 1; page <= 3; page++ {
			body := fakeBody(t, f, q, page, 1000)
			if !checkDecode(t, body) {
				t.Fatalf("fast decoder refused the fake's page %d of %s", page, q)
			}
			var got serpstat.BacklinksPage
			serpstat.DecodeNewBacklinks(body, &got)
			want := serpstattest.Rows(q, page*1000)[(page-1)*1000:]
			if !reflect.DeepEqual(got.Data, want) {
				t.Fatalf("page %d of %s: rows differ from serpstattest.Rows", page, q)
			}
			rowsDecoded += len(got.Data)
		}
		// The same rows as encoding/json writes them: \u003c, \u0026,
		// \u2028 escapes, and indented.
		type result struct {
			Data    []serpstat.Backlink  `json:"data"`
			Summary serpstat.SummaryInfo `json:"summary_info"`
		}
		type answer struct {
			ID     int    `json:"id"`
			Result result `json:"result"`
		}
		rows := serpstattest.Rows(q, 500)
		rows[0].LinkText = "<a href=\"x\">&amp;</a> \u2028\u2029 \x01\x1f \\ é"
		a := answer{ID: 7, Result: result{Data: rows, Summary: serpstat.SummaryInfo{Page: 1, Count: 500, Total: 5000, Sort: "check", Order: "DESC"}}}
		compact, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		indented, err := json.MarshalIndent(a, " ", "\t")
		if err != nil {
			t.Fatal(err)
		}
		var noHTML bytes.Buffer
		enc := json.NewEncoder(&noHTML)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(a); err != nil {
			t.Fatal(err)
		}
		for _, body := range [][]byte{compact, indented, noHTML.Bytes()} {
			if !checkDecode(t, body) {
				t.Fatalf("fast decoder refused encoding/json's answer for %s", q)
			}
			var got serpstat.BacklinksPage
			serpstat.DecodeNewBacklinks(body, &got)
			if !reflect.DeepEqual(got.Data, rows) {
				t.Fatalf("%s: encoding/json's rows do not round-trip", q)
			}
		}
	}
	t.Logf("%d rows of the fake decoded", rowsDecoded)
}

// TestDecodeNewBacklinksRandom round-trips random rows through
// encoding/json: random runes (escapes, surrogate pairs, U+2028) and Ints
// of every size.
func TestDecodeNewBacklinksRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	alphabet := []rune("aZ09 \"\\/<>&\n\r\t\b\f\x00\x1f\x7f\u00e9\u2028\u2029\ufffd\U0001F680\U0010FFFF")
	str := func() string {
		r := make([]rune, rng.IntN(12))
		for i := range r {
			if rng.IntN(4) == 0 {
				r[i] = rune(rng.IntN(0x10000))
				if r[i] >= 0xd800 && r[i] < 0xe000 {
					r[i] = 0x10000 + r[i]
				}
			} else {
				r[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		return string(r)
	}
	num := func() serpstat.Int { return serpstat.Int(rng.Int64() >> rng.IntN(64) * int64(1-2*rng.IntN(2))) }
	for range 200 {
		rows := make([]serpstat.Backlink, rng.IntN(20))
		for i := range rows {
			rows[i] = serpstat.Backlink{URLFrom: str(), URLTo: str(), Nofollow: str(), LinkType: str(), LinksExt: num(),
				LinkText: str(), FirstSeen: str(), LastVisited: str(), DomainRank: num()}
		}
		body, err := json.Marshal(map[string]any{"id": 1, "result": map[string]any{
			"data": rows, "summary_info": serpstat.SummaryInfo{LeftLines: num(), Total: num(), Sort: str()}}})
		if err != nil {
			t.Fatal(err)
		}
		if !checkDecode(t, body) {
			t.Fatalf("fast decoder refused %s", body)
		}
		// The Ints again as strings, as the API's schema types them.
		quoted := regexp.MustCompile(`("(links_ext|domain_rank|left_lines|total)":)(-?[0-9]+)`).ReplaceAll(body, []byte(`$1"$3"`))
		if !checkDecode(t, quoted) {
			t.Fatalf("fast decoder refused %s", quoted)
		}
	}
}

// TestClientFastPath runs Client.NewBacklinks against the HTTP fake: the
// fast path's rows are the fake's, and an error answer still comes back as
// an error (the fallback).
func TestClientFastPath(t *testing.T) {
	s := serpstattest.NewServer(serpstattest.Options{Rows: 2500, DomainRankAsString: true, NoDataAsError: true})
	defer s.Close()
	c := &serpstat.Client{Endpoint: s.URL, Token: serpstattest.DefaultToken, HTTPClient: s.Client()}
	ctx := context.Background()
	page, err := c.NewBacklinks(ctx, serpstat.NewBacklinksParams{Query: "example.com", SearchType: serpstat.SearchDomain, Page: 2, Size: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if want := serpstattest.Rows("example.com", 2000)[1000:]; !reflect.DeepEqual(page.Data, want) {
		t.Fatal("rows differ from serpstattest.Rows")
	}
	if page.Summary.Page != 2 || page.Summary.Count != 1000 || page.Summary.Total != 2500 || page.NoData || page.Repaired != 0 {
		t.Fatalf("summary %+v, NoData %v, Repaired %d", page.Summary, page.NoData, page.Repaired)
	}
	// Past the end: "no data" is an error answer, decoded by encoding/json.
	page, err = c.NewBacklinks(ctx, serpstat.NewBacklinksParams{Query: "example.com", SearchType: serpstat.SearchDomain, Page: 4, Size: 1000})
	if err != nil || !page.NoData {
		t.Fatalf("page past the end: %+v, %v; want NoData", page, err)
	}
}

// FuzzDecodeNewBacklinks checks that whatever the fast decoder accepts,
// encoding/json decodes to the same page.
func FuzzDecodeNewBacklinks(f *testing.F) {
	for _, s := range []string{
		wrap(row1),
		`{"id":1,"result":{"data":[],"summary_info":{}}}`,
		wrap(rowWith("link_text", `"\ud83d\ude80 \ud800\u0041 \"\\\/\b\f\n\r\t"`)),
		wrap(rowWith("domain_rank", `"25"`)),
		wrap(rowWith("domain_rank", `null`)),
		wrap(rowWith("link_text", `null`)),
		`{"result":{"data":[],"summary_info":{"total":null}}}`,
		wrap(rowWith("domain_rank", `" 2.5e1 "`)),
		wrap(rowWith("links_ext", `-12.5E-1`)),
		`{"result":{"x":[{"y":null},true,false,-0],"data":[{"url_from":null,"ſ":1}],"summary_info":{"sort":"a","page":"3"}},"error":null}`,
		"{\"result\":{\"data\":[{\"link_text\":\"Caf\u00e9 \U0001F680\"}]}}",
		`"\ud800\udc00\ud800x\udbff"`, `\uD83D\uDE80\u00e9 \"\\`, `"12"`, `-0.5e-3`, `"  -7 "`,
		`123456789012345678901`, `ſort`, `{"url_from":"a","domain_rank":"3"}`, `null`, `[{"a":[1,2]},true]`,
	} {
		f.Add([]byte(s))
	}
	fk := serpstattest.New(serpstattest.Options{Rows: 100, DomainRankAsString: true})
	f.Add(fakeBody(f, fk, "example.com", 1, 20))
	// raw is tried as a whole answer and, so that mutations reach the
	// value decoders rather than break the envelope, spliced into one.
	templates := []string{
		`{"result":{"data":[{"link_text":%s,"url_from":"x"}]}}`,
		`{"result":{"data":[{"link_text":"%s"}]}}`,
		`{"result":{"data":[{"domain_rank":%s}],"summary_info":{"page":1}}}`,
		`{"result":{"data":[{"links_ext":"%s"}]}}`,
		`{"result":{"data":[{"%s":"v"}],"summary_info":{"%[1]s":1}}}`,
		`{"id":%s,"result":{"data":[{"url_from":"x"}]}}`,
		`{"result":{"data":[%s]}}`,
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkDecode(t, raw)
		if len(raw) > 200 {
			return
		}
		for _, tmpl := range templates {
			checkDecode(t, fmt.Appendf(nil, tmpl, raw))
		}
	})
}

// BenchmarkDecodePage1000OnePass decodes the 1,000-row answer of
// BenchmarkDecodePage1000 with encoding/json in one pass, as Client.call's
// fallback does: the reference the fast decoder is measured against.
func BenchmarkDecodePage1000OnePass(b *testing.B) {
	body := page1000()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		page, err := referenceDecode(body)
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Data) != 1000 {
			b.Fatalf("decoded %d rows, want 1000", len(page.Data))
		}
	}
	reportRows(b, body)
}
