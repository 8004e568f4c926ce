package main

import (
	"context"
	"log/slog"
	"unicode"
)

// queryHandler adds query=Q to each record of one query's pager and
// exporter unless the record names its query itself (the exporter's
// "planned" does): a line says query= once.
type queryHandler struct {
	h     slog.Handler
	query string
}

func withQuery(h slog.Handler, query string) slog.Handler { return &queryHandler{h: h, query: query} }

func (q *queryHandler) Enabled(ctx context.Context, l slog.Level) bool { return q.h.Enabled(ctx, l) }

func (q *queryHandler) Handle(ctx context.Context, r slog.Record) error {
	has := false
	r.Attrs(func(a slog.Attr) bool {
		has = a.Key == "query"
		return !has
	})
	if !has {
		r = r.Clone()
		r.AddAttrs(slog.String("query", q.query))
	}
	return q.h.Handle(ctx, r)
}

func (q *queryHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &queryHandler{h: q.h.WithAttrs(as), query: q.query}
}

func (q *queryHandler) WithGroup(name string) slog.Handler {
	return &queryHandler{h: q.h.WithGroup(name), query: q.query}
}

// checkToken refuses a token that cannot be a token: a control character
// (a stray byte of a copied file) would only fail later as an invalid HTTP
// header, exit 1; it is bad input, exit 2. The token is never shown.
func checkToken(token string) error {
	for i, r := range token {
		if unicode.IsControl(r) {
			return usagef("the API token (SERPSTAT_TOKEN, --token-file or --token) holds a control character (%U at byte %d); remove it", r, i)
		}
	}
	return nil
}
