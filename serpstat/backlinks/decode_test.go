package backlinks_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

func answer(rows string) []byte {
	return []byte(`{"id":"1","result":{"data":[` + rows + `],"summary_info":{"left_lines":972850,"page":1,"count":2,"total":36,"sort":"url_from","order":"DESC"}}}`)
}

// TestDecodeEveryDocumentedVariant feeds rows shaped as the spec's schema
// and as its examples, and what each must read as.
func TestDecodeEveryDocumentedVariant(t *testing.T) {
	s := func(v string) serpstat.Value { return serpstat.Value{Str: v} }
	n := func(v int64) serpstat.Value { return serpstat.Value{Int: v} }
	l := func(v ...string) serpstat.Value { return serpstat.Value{List: v} }
	null := serpstat.Value{Null: true}
	for _, tc := range []struct {
		name   string
		m      *serpstat.Method
		row    string
		want   []serpstat.Value
		extra  string
		unkown []string
	}{
		{"new-backlinks example", backlinks.NewBacklinks,
			`{"url_from":"https://a/","url_to":"https://b/","nofollow":"follow","link_type":"href","links_ext":92,"link_text":"Read","first_seen":"2023-07-02","last_visited":"2024-11-23 21:32:02","domain_rank":"25"}`,
			[]serpstat.Value{s("https://a/"), s("https://b/"), s("follow"), s("href"), n(92), s("Read"), s("2023-07-02"), s("2024-11-23 21:32:02"), n(25)}, "", nil},
		{"lost-backlinks nulls and a missing key", backlinks.LostBacklinks,
			`{"url_from":"u","url_to":null,"nofollow":"follow","link_type":"href","links_ext":"93","link_text":"","first_seen":"2024-11-02","last_visited":"2025-02-02 07:33:53","date_del":"2025-02-02 07:33:53"}`,
			[]serpstat.Value{s("u"), null, s("follow"), s("href"), n(93), s(""), s("2024-11-02"), s("2025-02-02 07:33:53"), s("2025-02-02 07:33:53"), null}, "", nil},
		{"lost-outlinks example aliases", backlinks.LostOutlinks,
			`{"url_from":"u","url_to":"v","link_type":"href","link_text":"","first_seen":"2022-09-16","last_visited":"2025-02-04 08:18:00","date_del":"2025-02-04 08:18:00","link_nofollow":"follow","links_external":14}`,
			[]serpstat.Value{s("u"), s("v"), s("follow"), s("href"), n(14), s(""), s("2022-09-16"), s("2025-02-04 08:18:00"), s("2025-02-04 08:18:00")}, "", nil},
		{"ref-domains numbers as strings", backlinks.RefDomains,
			`{"domain_from":"elsner.com","ref_pages":"2","domainRank":"47"}`,
			[]serpstat.Value{s("elsner.com"), n(2), n(47)}, "", nil},
		{"top-pages urlTo", backlinks.TopPages,
			`{"url":"/","ref_pages":52041,"ref_domains":3265,"ips":3144,"urlTo":"https://serpstat.com/"}`,
			[]serpstat.Value{s("/"), n(52041), n(3265), n(3144), s("https://serpstat.com/")}, "", nil},
		{"anchors camelCase", backlinks.Anchors,
			`{"anchor":"www.serpstat.com","refDomains":10,"total":11,"noFollow":1}`,
			[]serpstat.Value{s("www.serpstat.com"), n(10), n(11), n(1)}, "", nil},
		{"threats lists and an unknown key", backlinks.Threats,
			`{"domain":"drweb.com","domain_link":"https://www.drweb.com","links_count":3,"platform_type":["windows","linux","osx"],"threat_type":["threat_type_unspecified"],"lastupdate":"2025-01-23","brand_new":{"a":[1,2]}}`,
			[]serpstat.Value{s("drweb.com"), s("https://www.drweb.com"), n(3), l("windows", "linux", "osx"), l("threat_type_unspecified"), s("2025-01-23")}, `{"brand_new":{"a":[1,2]}}`, []string{"brand_new"}},
		{"threats lists as a single string, with numbers and nulls", backlinks.Threats,
			`{"domain":"d","domain_link":"l","links_count":"3","platform_type":"windows","threat_type":[1, "malware", null, 2.5],"lastupdate":null}`,
			[]serpstat.Value{s("d"), s("l"), n(3), l("windows"), l("1", "malware", "2.5"), null}, "", nil},
		{"intersect keys named by domain", backlinks.Intersect,
			`{"Domain":"znaxarenko.mybb.ru","SDR":5,"Links count for domain #1 gepur.com":177,"Links count for domain #2 klubok.com":3,"Links count for domain #3 issaplus.com":0}`,
			[]serpstat.Value{s("znaxarenko.mybb.ru"), n(5), n(177), n(3), n(0)}, "", nil},
		{"redirected-domains spaced keys", backlinks.RedirectedDomains,
			`{"Domain":"2q4v48vk.nwpcs.com","Domain Rank":0}`,
			[]serpstat.Value{s("2q4v48vk.nwpcs.com"), n(0)}, "", nil},
		{"out-domains example key", backlinks.OutDomains,
			`{"domain_links":"340","domain_rank":"0","domain_to":"support.google.com"}`,
			[]serpstat.Value{s("support.google.com"), n(340), n(0)}, "", nil},
		{"keys in another case", backlinks.NewBacklinks,
			`{"URL_FROM":"a","Url_To":"b","nofollow":null,"link_type":"href","links_ext":1,"link_text":"x","first_seen":"2023-07-02","last_visited":"2024-11-23 21:32:02","domain_rank":2}`,
			[]serpstat.Value{s("a"), s("b"), null, s("href"), n(1), s("x"), s("2023-07-02"), s("2024-11-23 21:32:02"), n(2)}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := tc.m.DecodeAnswer(answer(tc.row + "," + tc.row))
			require.NoError(t, err)
			require.Len(t, page.Data, 2)
			require.Equal(t, tc.want, page.Data[1].Values)
			require.Equal(t, tc.extra, string(page.Data[1].Extra))
			require.Equal(t, tc.unkown, page.UnknownKeys)
			require.EqualValues(t, 36, page.Summary.Total)
		})
	}
}

func TestDecodeNamesTheFieldThatDoesNotFit(t *testing.T) {
	_, err := backlinks.RefDomains.DecodeAnswer(answer(`{"domain_from":"a","ref_pages":"2","domainRank":47},{"domain_from":"b","ref_pages":"many","domainRank":1}`))
	var ue *serpstat.UnexpectedError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, "result.data[1].ref_pages", ue.Field)
	require.Equal(t, `"many"`, ue.Value)
	require.Equal(t, serpstat.ClassUnexpected, serpstat.Classify(err))

	_, err = backlinks.RefDomains.DecodeAnswer([]byte(`{"result":{"data":[{"domain_from":"a"`))
	var be *serpstat.BodyError
	require.ErrorAs(t, err, &be)

	page, err := backlinks.RefDomains.DecodeAnswer([]byte(`{"id":1,"error":{"code":32017,"message":"No data"}}`))
	require.NoError(t, err)
	require.True(t, page.NoData)
}
