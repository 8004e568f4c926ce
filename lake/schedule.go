package lake

import (
	"context"
	"sync"

	"github.com/serpstat-export/serpstat-export/exporter"
)

// exportQueries exports the queries of a run, several at once through
// one pool of request slots (see pool.go), and puts their results in res
// in query order. It returns the error that stops the run: the first
// fatal failure (for a single query, any failure), or the shared
// outputs' own.
func (r *Run) exportQueries(ctx context.Context, queries []string, specs []*outSpec, shared []*output,
	newOutput func(*outSpec, string) *output, state *State, record *runRecord, prev *earlier, date string,
	startBalance int64, res *Result) error {
	s, log := r.Settings, r.logger()
	multi := len(queries) > 1
	r.budget() // set once, before the queries share it
	pool := exporter.NewPool(s.Workers, r.Pager)
	stop := newStopper(r.Stop)
	defer stop.end()
	var seq *sequencer
	if len(shared) > 0 {
		seq = newSequencer(shared, queries)
	}
	results := make([]*QueryResult, len(queries))
	prog := newRunProgress(r, len(queries))
	watch := func(i int) func(e *exporter.Exporter) func() {
		track := prog.track(i)
		return func(e *exporter.Exporter) func() {
			untrack, show := track(e), func() {}
			if !multi || r.RunProgress == nil {
				show = r.progress(e) // one query: its own display, as ever
			}
			return func() { show(); untrack() }
		}
	}
	if multi && r.RunProgress != nil {
		defer r.RunProgress(prog.snapshot)()
	}

	// after is what follows a query's export, under r.mu: the files it
	// replaced go, the run record notes it, a fatal failure stops the run.
	after := func(qr *QueryResult) {
		r.mu.Lock()
		defer r.mu.Unlock()
		q := qr.Query
		if qr.Err == nil && record != nil && s.Incremental == "" {
			r.dropSuperseded(ctx, qr, specs, date, prev, record)
		}
		if record != nil {
			var st *QueryState
			if state != nil && qr.Err == nil {
				st = state.Queries[q]
			}
			if err := record.note(ctx, s.RunID, qr, st); err != nil {
				log.Warn("could not record what became of the query: a rerun would export it again", "query", q, "error", err)
			}
		}
		if qr.Err == nil {
			return
		}
		if interrupted(ctx, qr.Err) {
			log.Warn("query interrupted", "query", q, "error", qr.Err)
		} else {
			log.Error("query failed", "query", q, "error", qr.Err)
		}
		if !multi || Fatal(ctx, qr.Err) {
			stop.fail(qr.Err)
		}
	}

	adm := newAdmission(r.budget(), r.Pager.Method().Price(r.Pager.Params()), prog)
	running := make(chan struct{}, runningCap(s.Workers))
	var wg sync.WaitGroup
	started := 0
schedule:
	for i, q := range queries {
		// Stopped by the operator alone (no query failed yet), the next
		// query is tried and ends interrupted at once, as when the
		// queries went one at a time.
		select {
		case <-stop.failed:
			break schedule
		default:
		}
		r.mu.Lock()
		qr, missing := record.reuse(q, state)
		r.mu.Unlock()
		if missing != "" {
			log.Warn("done by an earlier run of this command, but a file it wrote is gone: exported again", "query", q, "missing", missing)
		}
		if qr != nil {
			log.Info("done by an earlier run of this command: reused, not bought or written again", "query", q, "rows", qr.Report.Rows, "exported_by_run", qr.Earlier.Run)
			results[i] = qr
			started = i + 1
			prog.reused()
			if seq != nil {
				seq.finish(i)
			}
			continue
		}
		// A query starts when fewer than the cap run and the pool has a
		// slot no running query waits for: it keeps that slot for its
		// first request.
		select {
		case running <- struct{}{}:
		case <-stop.failed:
			break schedule
		case <-ctx.Done():
			stop.fail(ctx.Err())
			break schedule
		}
		if !adm.wait(ctx, stop.failed, func(avail, need int64) {
			log.Info("the budget left is kept for the queries running: the next one starts when they leave room", "query", q, "available", avail, "needed", need)
		}) {
			<-running
			if ctx.Err() != nil {
				stop.fail(ctx.Err())
			}
			break schedule
		}
		if err := pool.Start(ctx, i, stop.failed); err != nil {
			<-running
			if stop.err() == nil {
				stop.fail(err)
			}
			break
		}
		started = i + 1
		qx := queryRun{order: i, q: q, pool: pool, stop: stop.ch, startBalance: startBalance, watch: watch(i)}
		if seq != nil {
			qx.shared = seq.sink(i)
		}
		startBalance = 0 // the first query's report shows the balance, once
		adm.start(i)
		wg.Go(func() {
			defer func() { <-running }()
			defer pool.Forgo(i)
			qr := r.exportQuery(ctx, qx, specs, newOutput, state)
			qr.Err = stoppedBy(qr.Err, stop.err(), r.Stop)
			if seq != nil {
				seq.finish(i)
			}
			results[i] = qr
			var cost int64
			if qr.Report != nil {
				cost = qr.Report.Credits
			}
			prog.finished(qr)
			after(qr) // a fatal failure stops the run before the next query may start
			adm.end(i, cost)
		})
	}
	wg.Wait()
	res.queries = results[:started]
	for _, qr := range res.queries {
		res.files = append(res.files, qr.Files...)
	}
	res.notStarted = len(queries) - started
	err := stop.err()
	if seq != nil {
		if serr := seq.close(); err == nil {
			err = serr
		}
	}
	return err
}
