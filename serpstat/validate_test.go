package serpstat_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

func TestValidateParams(t *testing.T) {
	ok := serpstat.Params{Query: "example.com", SearchType: "domain", Sort: "url_from", Order: "desc", Page: 1, Size: 1000}
	tests := []struct {
		name  string
		edit  func(*serpstat.Params)
		field string // "" means valid
	}{
		{"valid", func(*serpstat.Params) {}, ""},
		{"idn", func(p *serpstat.Params) { p.Query = "müller.de" }, ""},
		{"subdomain", func(p *serpstat.Params) { p.Query = "blog.example.co.uk" }, ""},
		{"no query", func(p *serpstat.Params) { p.Query = "" }, "query"},
		{"url query", func(p *serpstat.Params) { p.Query = "https://example.com/x" }, "query"},
		{"spaces", func(p *serpstat.Params) { p.Query = "exa mple.com" }, "query"},
		{"search type", func(p *serpstat.Params) { p.SearchType = "page" }, "search-type"},
		{"sort", func(p *serpstat.Params) { p.Sort = "rank" }, "sort"},
		{"order", func(p *serpstat.Params) { p.Order = "up" }, "order"},
		{"size big", func(p *serpstat.Params) { p.Size = 5000 }, "size"},
		{"size negative", func(p *serpstat.Params) { p.Size = -1 }, "size"},
		{"link per domain", func(p *serpstat.Params) { p.LinkPerDomain = new(-3) }, "link-per-domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.edit(&p)
			err := backlinks.NewBacklinks.Validate(p)
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			var pe *serpstat.ParamError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.field, pe.Field)
		})
	}
}

func TestSizeMessageSaysWhatIsAllowed(t *testing.T) {
	err := backlinks.NewBacklinks.Validate(serpstat.Params{Query: "example.com", SearchType: "domain", Size: 5000})
	require.EqualError(t, err, "size must be 1..1000; got 5000")
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		name  string
		json  string
		field string // "" means valid
	}{
		{"method page example", `[[{"field":"url_from","compareType":"notContains","value":["7654765"]},{"field":"anchor","compareType":"notContains","value":["Stat"]},{"field":"check","compareType":"lte","value":["1.1.2030"]}],[{"additional_filters":"no_subdomains"},{"additional_filters":"only_main_page"}]]`, ""},
		{"between dates", `[[{"field":"add","compareType":"between","value":["1.1.2023","31.12.2023"]}]]`, "filter[0][0].compareType"},
		{"date range", `[[{"field":"add","compareType":"gte","value":["1.1.2023"]},{"field":"add","compareType":"lte","value":["31.12.2023"]}]]`, ""},
		{"between numbers", `[[{"field":"links_external","compareType":"between","value":[1,5]}]]`, ""},
		{"link_type answer value", `[[{"field":"link_type","compareType":"eq","value":["href"]}]]`, "filter[0][0].value[0]"},
		{"link_type filter values", `[[{"field":"link_type","compareType":"neq","value":["text","iframe"]}]]`, ""},
		{"link_type contains any", `[[{"field":"link_type","compareType":"contains","value":["ref"]}]]`, ""},
		{"link_nofollow undocumented", `[[{"field":"link_nofollow","compareType":"eq","value":["dofollow"]}]]`, "filter[0][0].value[0]"},
		{"link_nofollow values and codes", `[[{"field":"link_nofollow","compareType":"eq","value":["ugc","4"]}]]`, ""},
		{"numbers", `[[{"field":"links_external","compareType":"gt","value":[10]}]]`, ""},
		{"empty", ``, ""},
		{"not json", `[[{`, "filter"},
		{"object not array", `{"field":"url_from"}`, "filter"},
		{"unknown field", `[[{"field":"domain_rank","compareType":"gt","value":[1]}]]`, "filter[0][0].field"},
		{"unknown compare", `[[{"field":"url_from","compareType":"like","value":["x"]}]]`, "filter[0][0].compareType"},
		{"no value", `[[{"field":"url_from","compareType":"contains"}]]`, "filter[0][0].value"},
		{"between one value", `[[{"field":"links_external","compareType":"between","value":[1]}]]`, "filter[0][0].value"},
		{"YYYY-MM-DD date", `[[{"field":"add","compareType":"gte","value":["2023-01-01"]}]]`, ""},
		{"DD.MM.YYYY date", `[[{"field":"add","compareType":"gte","value":["01.01.2023"]}]]`, ""},
		{"bad date", `[[{"field":"add","compareType":"gte","value":["2023/01/01"]}]]`, "filter[0][0].value[0]"},
		{"date a number", `[[{"field":"add","compareType":"gte","value":[20230101]}]]`, "filter[0][0].value[0]"},
		{"impossible date", `[[{"field":"check","compareType":"gte","value":["31.2.2023"]}]]`, "filter[0][0].value[0]"},
		{"gt on text", `[[{"field":"url_from","compareType":"gt","value":["a"]}]]`, "filter[0][0].compareType"},
		{"contains on number", `[[{"field":"links_external","compareType":"contains","value":["1"]}]]`, "filter[0][0].compareType"},
		{"number for contains", `[[{"field":"anchor","compareType":"contains","value":[5]}]]`, "filter[0][0].value[0]"},
		{"unknown key", `[[{"field":"url_from","compareType":"contains","value":["x"],"extra":1}]]`, "filter[0][0]"},
		{"bad additional", `[[{"additional_filters":"no_pages"}]]`, "filter[0][0].additional_filters"},
		{"empty group", `[[]]`, "filter[0]"},
		{"object value", `[[{"field":"url_from","compareType":"contains","value":[{}]}]]`, "filter[0][0].value[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := backlinks.NewBacklinks.ParseFilter([]byte(tt.json))
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			var pe *serpstat.ParamError
			require.ErrorAs(t, err, &pe, "%v", err)
			assert.Equal(t, tt.field, pe.Field, "%v", err)
		})
	}
}
