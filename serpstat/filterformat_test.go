package serpstat_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

func TestParseDateReadsTheThreeInputFormats(t *testing.T) {
	april := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time // zero: refused
		msg  string    // in the error
	}{
		{"2025-04-01", april, ""},
		{"01.04.2025", april, ""},
		{"1.4.2025", april, ""},
		{"01.4.2025", april, ""},
		{"1.04.2025", april, ""},
		{"29.2.2024", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), ""},
		{"2024-02-29", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), ""},
		{"31.12.2030", time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC), ""},
		{"29.2.2025", time.Time{}, "does not exist"},
		{"2025-02-29", time.Time{}, "does not exist"},
		{"31.4.2025", time.Time{}, "does not exist"},
		{"2025-13-01", time.Time{}, "does not exist"},
		{"0.1.2025", time.Time{}, "does not exist"},
		{"2025-00-10", time.Time{}, "does not exist"},
		{"0000-01-01", time.Time{}, "does not exist"},
		{"2025-4-1", time.Time{}, "YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY"},
		{"2025/04/01", time.Time{}, "YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY"},
		{"1.4.25", time.Time{}, "YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY"},
		{"001.4.2025", time.Time{}, "YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY"},
		{"1.4.2025.", time.Time{}, "YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY"},
		{"a.b.cdef", time.Time{}, "YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY"},
		{" 2025-04-01", time.Time{}, "YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY"},
		{"", time.Time{}, "YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY"},
		{"yesterday", time.Time{}, "YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := serpstat.ParseDate(tt.in)
			if tt.want.IsZero() {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.msg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDateFormats(t *testing.T) {
	d := time.Date(2025, 4, 1, 15, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		f    serpstat.DateFormat
		want string
	}{
		{serpstat.DateDMY, "01.04.2025"},
		{serpstat.DateISO, "2025-04-01"},
	} {
		assert.Equal(t, tt.want, tt.f.Format(d))
		assert.Equal(t, tt.want, tt.f.Example())
		b, err := tt.f.MarshalText()
		require.NoError(t, err)
		var back serpstat.DateFormat
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, tt.f, back)
	}
	assert.Equal(t, "DD.MM.YYYY", serpstat.DateFormat(0).String(), "the zero value")
	assert.Equal(t, "01.01.2030", serpstat.FormatFilterDate(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, "0999-01-02", serpstat.DateISO.Format(time.Date(999, 1, 2, 0, 0, 0, 0, time.UTC)))
}

// TestEveryMethodsDateFiltersAreSentInItsFormat: YYYY-MM-DD for the
// threat methods' lastupdate, DD.MM.YYYY for every other date filter,
// whatever format of the three the user wrote.
func TestEveryMethodsDateFiltersAreSentInItsFormat(t *testing.T) {
	threats := map[string]bool{"threats": true, "threats-links": true, "out-threats": true, "out-threats-links": true}
	dates := 0
	for _, m := range backlinks.Methods {
		for _, ff := range m.Filters {
			if ff.Kind != serpstat.KindDate {
				continue
			}
			dates++
			want := "01.04.2025"
			if threats[m.Name] {
				require.Equal(t, "lastupdate", ff.Name)
				require.Equal(t, serpstat.DateISO, ff.DateFormat, m.Name)
				want = "2025-04-01"
			}
			for _, in := range []string{"2025-04-01", "01.04.2025", "1.4.2025"} {
				t.Run(m.Name+"/"+ff.Name+"/"+in, func(t *testing.T) {
					raw := `[[{"field":"` + ff.Name + `","compareType":"gte","value":["` + in + `"]},{"field":"` + ff.Name + `","compareType":"lte","value":["30.4.2025"]}]]`
					f, err := m.ParseFilter([]byte(raw))
					require.NoError(t, err)
					assert.Equal(t, []any{want}, f[0][0].Value)
					p := serpstat.Params{Query: "example.com", ComplexFilter: serpstat.Filter{{{Field: ff.Name, CompareType: "gte", Value: []any{in}}}}}
					if m.SearchTypes != nil {
						p.SearchType = serpstat.SearchDomain
					}
					if m.Intersect > 0 {
						p.Intersect = []string{"a.com"}
					}
					js, err := m.MarshalParams(p)
					require.NoError(t, err)
					assert.Contains(t, string(js), `"value":["`+want+`"]`, "sent in the field's format even when not parsed first")
				})
			}
		}
	}
	assert.Equal(t, 4+4+1+2, dates, "four threat lastupdates, check of four link methods and add, lastupdate of top-pages and anchors")
}

// TestSameDateSpellingsNormalizeAlike: two spellings of a date give the
// same filter, so an export's identity (a hash of its params) is the same.
func TestSameDateSpellingsNormalizeAlike(t *testing.T) {
	var prev []byte
	for _, in := range []string{"2025-04-01", "01.04.2025", "1.4.2025", "1.04.2025"} {
		f, err := backlinks.NewBacklinks.ParseFilter([]byte(`[[{"field":"add","compareType":"gte","value":["` + in + `"]}]]`))
		require.NoError(t, err)
		js, err := json.Marshal(f)
		require.NoError(t, err)
		if prev != nil {
			assert.Equal(t, string(prev), string(js), in)
		}
		prev = js
	}
}

func TestDateErrorsNameTheFieldAndTheFormats(t *testing.T) {
	tests := []struct {
		m     *serpstat.Method
		json  string
		field string
		want  []string
	}{
		{backlinks.Threats, `[[{"field":"lastupdate","compareType":"gte","value":["2025/04/01"]}]]`, "filter[0][0].value[0]",
			[]string{"lastupdate", "YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY", "sends it as YYYY-MM-DD", `"2025-04-01"`, `got "2025/04/01"`}},
		{backlinks.NewBacklinks, `[[{"field":"url_from","compareType":"contains","value":["x"]},{"field":"add","compareType":"lte","value":["31.02.2025"]}]]`, "filter[0][1].value[0]",
			[]string{"add", "not a day of the calendar", "sends it as DD.MM.YYYY", `"01.04.2025"`}},
		{backlinks.TopPages, `[[{"field":"lastupdate","compareType":"gte","value":[20250401]}]]`, "filter[0][0].value[0]",
			[]string{"lastupdate", "YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY"}},
		{backlinks.OutThreatsLinks, `[[{"field":"lastupdate","compareType":"between","value":["2025-01-01","2025-01-31"]}]]`, "filter[0][0].compareType",
			[]string{"gte and lte", `"2024-01-01"`}},
	}
	for _, tt := range tests {
		t.Run(tt.m.Name+" "+tt.field, func(t *testing.T) {
			_, err := tt.m.ParseFilter([]byte(tt.json))
			var pe *serpstat.ParamError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.field, pe.Field)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestAliasesAreSentUnderTheSchemasName: the spellings of the spec's
// examples (getAnchors' noFollow, getOutDomains' domain_to) are taken and
// sent as the schema's (nofollow, domain_from), from a parsed filter and
// from params built in code alike.
func TestAliasesAreSentUnderTheSchemasName(t *testing.T) {
	tests := []struct {
		m           *serpstat.Method
		alias, name string
		value       any
	}{
		{backlinks.Anchors, "noFollow", "nofollow", 1.0},
		{backlinks.Anchors, "nofollow", "nofollow", 1.0},
		{backlinks.OutDomains, "domain_to", "domain_from", ".com"},
		{backlinks.OutDomains, "domain_from", "domain_from", ".com"},
	}
	for _, tt := range tests {
		t.Run(tt.m.Name+"/"+tt.alias, func(t *testing.T) {
			compare := "gte"
			if _, ok := tt.value.(string); ok {
				compare = "contains"
			}
			c := serpstat.Condition{Field: tt.alias, CompareType: compare, Value: []any{tt.value}}
			raw, err := json.Marshal(serpstat.Filter{{c}})
			require.NoError(t, err)
			f, err := tt.m.ParseFilter(raw)
			require.NoError(t, err)
			assert.Equal(t, tt.name, f[0][0].Field)
			assert.Equal(t, tt.name, tt.m.Filter(tt.alias).Name)

			p := serpstat.Params{Query: "example.com", SearchType: serpstat.SearchDomain, ComplexFilter: serpstat.Filter{{c}}}
			require.NoError(t, tt.m.Validate(p))
			js, err := tt.m.MarshalParams(p)
			require.NoError(t, err)
			assert.Contains(t, string(js), `"field":"`+tt.name+`"`)
			if tt.alias != tt.name {
				assert.NotContains(t, string(js), tt.alias)
			}
		})
	}
	assert.Nil(t, backlinks.RefDomains.Filter("domain_to"), "an alias is the method's own")
}

// TestEnumeratedListFields: platform_type and threat_type of the four
// threat methods take the documented codes (and threat_type 9, from the
// spec's examples), as strings or numbers, with contains, notContains, eq
// and neq; anything else names the codes and their meanings.
func TestEnumeratedListFields(t *testing.T) {
	tests := []struct {
		name, json string
		field      string   // "" when valid
		want       []string // in the error
	}{
		{"spec example: a code as text", `[[{"field":"platform_type","compareType":"contains","value":["1"]}]]`, "", nil},
		{"spec example: a code as a number", `[[{"field":"platform_type","compareType":"contains","value":[1]}]]`, "", nil},
		{"spec example: threat_type 9", `[[{"field":"threat_type","compareType":"contains","value":[9]}]]`, "", nil},
		{"every platform code", `[[{"field":"platform_type","compareType":"notContains","value":[1,2,3,4,5,6,7,"8"]}]]`, "", nil},
		{"every threat code", `[[{"field":"threat_type","compareType":"neq","value":["1","2","3","4","9"]}]]`, "", nil},
		{"eq", `[[{"field":"platform_type","compareType":"eq","value":[7]}]]`, "", nil},
		{"platform code 9", `[[{"field":"platform_type","compareType":"contains","value":[9]}]]`, "filter[0][0].value[0]",
			[]string{"platform_type", "1 windows", "4 OS X", "8 chrome OS", "; got 9"}},
		{"threat code 5", `[[{"field":"threat_type","compareType":"contains","value":["5"]}]]`, "filter[0][0].value[0]",
			[]string{"threat_type", "1 malware", "4 potentially harmful application", "9 code used in the spec's example, meaning undocumented", `got "5"`}},
		{"a name instead of a code", `[[{"field":"platform_type","compareType":"contains","value":["windows"]}]]`, "filter[0][0].value[0]",
			[]string{"is not a code of platform_type"}},
		{"a fraction", `[[{"field":"threat_type","compareType":"eq","value":[1.5]}]]`, "filter[0][0].value[0]", nil},
		{"gt", `[[{"field":"platform_type","compareType":"gt","value":[1]}]]`, "filter[0][0].compareType",
			[]string{"contains, notContains, eq, neq"}},
		{"between", `[[{"field":"platform_type","compareType":"between","value":[1,3]}]]`, "filter[0][0].compareType", nil},
		{"startsWith", `[[{"field":"threat_type","compareType":"startsWith","value":["1"]}]]`, "filter[0][0].compareType", nil},
		{"no value", `[[{"field":"threat_type","compareType":"contains","value":[]}]]`, "filter[0][0].value", nil},
	}
	for _, m := range []*serpstat.Method{backlinks.Threats, backlinks.ThreatsLinks, backlinks.OutThreats, backlinks.OutThreatsLinks} {
		for _, tt := range tests {
			t.Run(m.Name+"/"+tt.name, func(t *testing.T) {
				f, err := m.ParseFilter([]byte(tt.json))
				if tt.field == "" {
					require.NoError(t, err)
					js, err := json.Marshal(f)
					require.NoError(t, err)
					assert.JSONEq(t, tt.json, string(js), "codes are sent as the user wrote them")
					return
				}
				var pe *serpstat.ParamError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, tt.field, pe.Field, err.Error())
				for _, w := range tt.want {
					assert.Contains(t, err.Error(), w)
				}
			})
		}
		assert.NotContains(t, m.Slices, "platform_type", "a row holds several: no slicing dimension")
		assert.NotContains(t, m.Slices, "threat_type")
	}
}

func TestCodesNameWhatAnswersHold(t *testing.T) {
	ff := backlinks.Threats.Filter("platform_type")
	require.NotNil(t, ff)
	var names []string
	for _, c := range ff.Codes {
		names = append(names, c.Name)
	}
	assert.Equal(t, "windows linux android osx ios any_platform all_platforms chrome", strings.Join(names, " "))
	assert.Equal(t, "windows", ff.CodeOf("1").Name)
	assert.Equal(t, "windows", ff.CodeOf(1.0).Name)
	assert.Nil(t, ff.CodeOf(9.0))
	tt := backlinks.Threats.Filter("threat_type")
	assert.Equal(t, "malware", tt.CodeOf(1.0).Name)
	assert.Empty(t, tt.CodeOf("9").Name, "the spec's example code: its name is not documented")
	assert.Equal(t, "platform_type", ff.Column)
}
