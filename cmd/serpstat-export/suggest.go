package main

import didyoumean "github.com/serpstat-export/serpstat-export/suggest"

// suggest is the candidate closest to word, or "" when none is close
// (package suggest, shared with serpstat's validation messages).
func suggest(word string, candidates []string) string {
	return didyoumean.Closest(word, candidates)
}
