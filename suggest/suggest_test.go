package suggest_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/suggest"
)

func TestClosest(t *testing.T) {
	flags := []string{"budget", "max-rows", "query", "queries-file", "out"}
	methods := []string{"new-backlinks", "lost-backlinks", "ref-domains", "top-pages", "threats", "threats-links"}
	for _, tc := range []struct {
		word       string
		candidates []string
		want       string
	}{
		{"budjet", flags, "budget"},
		{"maxrows", flags, "max-rows"},
		{"max_rows", flags, "max-rows"},
		{"qeury", flags, "query"},
		{"zzzzzz", flags, ""},
		{"new-backlink", methods, "new-backlinks"},
		{"NEW_BACKLINKS", methods, "new-backlinks"},
		{"refdomain", methods, "ref-domains"},
		{"top", methods, "top-pages"}, // a prefix
		{"thraets", methods, "threats"},
		{"ot", flags, "out"},
		{"xy", flags, ""},
		{"", flags, ""},
		{"budget", nil, ""},
		{"dsc", []string{"asc", "desc"}, "desc"}, // a tie: the one starting alike
		{"xsc", []string{"asc", "desc"}, "asc"},  // a tie: the first
	} {
		t.Run(tc.word, func(t *testing.T) {
			require.Equal(t, tc.want, suggest.Closest(tc.word, tc.candidates))
		})
	}
}

func TestHint(t *testing.T) {
	sorts := []string{"url_from", "anchor", "domain_rank"}
	require.Equal(t, " (did you mean domain_rank?)", suggest.Hint("domainrank", sorts))
	require.Equal(t, "", suggest.Hint("anchor", sorts), "a candidate itself gets no hint")
	require.Equal(t, "", suggest.Hint("qqqqqqq", sorts))
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "abc", 0},
		{"abc", "acb", 1}, // a swap
		{"abc", "ab", 1},
		{"kitten", "sitting", 3},
		{"пример", "прмиер", 1}, // runes, not bytes
	} {
		require.Equal(t, tc.want, suggest.Distance(tc.a, tc.b), "%q %q", tc.a, tc.b)
	}
}

func ExampleHint() {
	methods := []string{"new-backlinks", "lost-backlinks", "ref-domains"}
	fmt.Printf("--method new-backlink is not a method%s\n", suggest.Hint("new-backlink", methods))
	// Output: --method new-backlink is not a method (did you mean new-backlinks?)
}
