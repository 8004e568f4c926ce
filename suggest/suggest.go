// Package suggest finds, for a mistyped word, the closest of the words
// that were expected: the "did you mean" of flags, config keys, method
// names, sort and filter fields and search types.
//
// It is pure and safe for concurrent use.
package suggest

import "strings"

// Closest is the candidate closest to word, or "" when none is close
// enough to be what was meant. Case, '-' and '_' are ignored; a candidate
// within a Damerau-Levenshtein distance of 2 (1 for a word of 3
// characters or fewer) wins; of equals, the first that starts as word
// does, else the first; failing that, the first
// candidate that word (3 characters or more) is a prefix of.
func Closest(word string, candidates []string) string {
	w := fold(word)
	best, bestD := "", 1<<30
	for _, c := range candidates {
		fc := fold(c)
		d := Distance(w, fc)
		if d < bestD || d == bestD && sameStart(w, fc) && !sameStart(w, fold(best)) {
			best, bestD = c, d
		}
	}
	limit := 2
	if len([]rune(w)) <= 3 {
		limit = 1
	}
	if bestD <= limit && best != "" {
		return best
	}
	for _, c := range candidates {
		if len(w) >= 3 && strings.HasPrefix(fold(c), w) {
			return c
		}
	}
	return ""
}

// Hint is " (did you mean X?)" for the closest candidate X (Closest),
// or "" when none is close or word is one of candidates.
func Hint(word string, candidates []string) string {
	for _, c := range candidates {
		if c == word {
			return ""
		}
	}
	if c := Closest(word, candidates); c != "" {
		return " (did you mean " + c + "?)"
	}
	return ""
}

// sameStart tells whether a and b start with the same rune.
func sameStart(a, b string) bool {
	return a != "" && b != "" && []rune(a)[0] == []rune(b)[0]
}

// fold is what Closest compares: lower case, without '-' and '_'.
func fold(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(s))
}

// Distance is the Damerau-Levenshtein distance of a and b (optimal string
// alignment: an insertion, a deletion, a substitution or a swap of two
// adjacent runes each count one).
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
