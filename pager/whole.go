package pager

import (
	"context"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// A method that is not paged (serpstat.Method.NotPaged) answers a query
// in one request: no page or size is sent, its price
// (serpstat.Method.Price) is known before it is asked, so its plan is
// exact without a probe, and that price is what is reserved.

// WholeStep is the one request of a method that is not paged, as a plan
// and a checkpoint name it; its page and size are never sent.
var WholeStep = Step{Page: 1, Size: 1}

// PlanWhole is the plan of a query of m, a method that is not paged,
// with params p: its one request, which costs m.Price(p), and the rows
// its answer holds when they are known before asking (m.Rows).
func PlanWhole(m *serpstat.Method, p serpstat.Params) *Plan {
	rows, known := m.Rows(p)
	return &Plan{Params: p, Total: rows, TotalUnknown: !known, First: WholeStep, FirstCost: m.Price(p), Held: rows, NotPaged: true}
}

// Whole reserves the price of the one request of the Pager's query, a
// method that is not paged, from the session's budget and sends it: a
// budget that cannot pay for it stops it before it is sent.
func (p *Pager) Whole(ctx context.Context, s Session) (*Page, error) {
	return p.Get(ctx, s, Request{N: 1, Params: p.c.Params, Step: WholeStep, Cost: p.c.Method.Price(p.c.Params)})
}
