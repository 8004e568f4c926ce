package lake

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// The queries of a run share one pool of request slots (exporter.Pool):
// the scheduler starts them in order, the next one when the pool has a
// slot no running query waits for, so the pages of the next queries are
// asked while the last pages of earlier ones are in flight, within the
// run's workers, rate and budget. Each query keeps its own exporter,
// spool, outputs and record; what they share (the run record, the
// incremental state, the earlier runs' manifest) is guarded by Run.mu,
// and the outputs every query writes to get the rows in query order
// through a sequencer.

// maxRunning caps the queries exported at once: each holds up to a
// window of pages in memory (exporter's heldRows), and its spool open.
const maxRunning = 24

// runningCap is how many queries may run at once for workers (0:
// automatic).
func runningCap(workers int) int {
	if workers > 0 {
		return min(workers, maxRunning)
	}
	return maxRunning
}

// stopper is the run's stop: closed when Run.Stop closes or a query fails
// in a way that stops the whole run (Fatal), whichever is first; cause is
// that failure. The exporters listen to it as their Stop.
type stopper struct {
	ch     chan struct{}
	once   sync.Once
	failed chan struct{} // closed with cause set
	mu     sync.Mutex
	cause  error
	done   chan struct{} // closed when the run ends: the forwarder returns
}

func newStopper(outer <-chan struct{}) *stopper {
	s := &stopper{ch: make(chan struct{}), failed: make(chan struct{}), done: make(chan struct{})}
	if outer != nil {
		go func() {
			select {
			case <-outer:
				s.once.Do(func() { close(s.ch) })
			case <-s.done:
			}
		}()
	}
	return s
}

// fail stops the run for err, the first fatal failure; it tells whether
// err is that first one.
func (s *stopper) fail(err error) bool {
	s.mu.Lock()
	first := s.cause == nil
	if first {
		s.cause = err
		close(s.failed)
	}
	s.mu.Unlock()
	s.once.Do(func() { close(s.ch) })
	return first
}

func (s *stopper) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cause
}

func (s *stopper) end() { close(s.done) }

// sequencer puts the rows of queries exported at once into the outputs
// they share in query order: the rows of the earliest query not yet done
// (the head) are written as they come; a later query's are deferred to a
// temporary file and written when every earlier query is done. Memory
// stays flat whatever the queries' sizes. Safe for concurrent use.
type sequencer struct {
	mu      sync.Mutex
	outs    []*output
	queries []string
	head    int
	done    []bool
	spills  map[int]*spill
	err     error // the first failure to write or defer rows: every later Write returns it
}

func newSequencer(outs []*output, queries []string) *sequencer {
	return &sequencer{outs: outs, queries: queries, done: make([]bool, len(queries)), spills: map[int]*spill{}}
}

// sink is query i's way into the shared outputs.
func (s *sequencer) sink(i int) exporter.Sink { return seqSink{s, i} }

type seqSink struct {
	s *sequencer
	i int
}

func (k seqSink) Write(rows []serpstat.Row) error {
	s := k.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if k.i == s.head {
		return s.write(k.i, rows)
	}
	sp := s.spills[k.i]
	if sp == nil {
		var err error
		if sp, err = newSpill(); err != nil {
			s.err = fmt.Errorf("defer the rows of query %s: %w", s.queries[k.i], err)
			return s.err
		}
		s.spills[k.i] = sp
	}
	if err := sp.write(rows); err != nil {
		s.err = fmt.Errorf("defer the rows of query %s: %w", s.queries[k.i], err)
	}
	return s.err
}

// write writes query i's rows to every shared output.
func (s *sequencer) write(i int, rows []serpstat.Row) error {
	for _, o := range s.outs {
		o.SetQuery(s.queries[i])
		if err := o.Write(rows); err != nil {
			s.err = err
			return err
		}
	}
	return nil
}

// finish says query i wrote its last row (or never will): the queries
// after it that are done have their deferred rows written, and the next
// one running writes directly.
func (s *sequencer) finish(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done[i] = true
	for s.head < len(s.done) && s.done[s.head] {
		s.head++
		if s.head < len(s.done) {
			s.replay(s.head)
		}
	}
}

// replay writes the rows query i deferred, and removes its file.
func (s *sequencer) replay(i int) {
	sp := s.spills[i]
	if sp == nil {
		return
	}
	delete(s.spills, i)
	defer sp.remove()
	if s.err != nil {
		return
	}
	err := sp.each(func(rows []serpstat.Row) error { return s.write(i, rows) })
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("write the deferred rows of query %s: %w", s.queries[i], err)
	}
}

// close removes what is still deferred (a run that stopped) and returns
// the first failure.
func (s *sequencer) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sp := range s.spills {
		sp.remove()
		delete(s.spills, i)
	}
	return s.err
}

// spill is a query's deferred rows: a temporary file of rows in the
// spool's format (exporter.AppendRow), one a line, a blank line after
// each batch.
type spill struct {
	f *os.File
	w *bufio.Writer
	b []byte
}

func newSpill() (*spill, error) {
	f, err := os.CreateTemp("", "serpstat-export-deferred-*.rows")
	if err != nil {
		return nil, err
	}
	return &spill{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (sp *spill) write(rows []serpstat.Row) error {
	for i := range rows {
		sp.b = append(exporter.AppendRow(sp.b[:0], &rows[i]), '\n')
		if _, err := sp.w.Write(sp.b); err != nil {
			return err
		}
	}
	_, err := sp.w.Write([]byte{'\n'})
	return err
}

// each reads the rows back, batch by batch, into fn.
func (sp *spill) each(fn func([]serpstat.Row) error) error {
	if err := sp.w.Flush(); err != nil {
		return err
	}
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(sp.f, 64<<10)
	var batch []serpstat.Row
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A row longer than the buffer.
			rest, err2 := r.ReadBytes('\n')
			line, err = append(append([]byte(nil), line...), rest...), err2
		}
		if err == io.EOF && len(line) == 0 {
			return nil
		}
		if err != nil {
			return err
		}
		if len(line) == 1 {
			if err := fn(batch); err != nil {
				return err
			}
			batch = nil // a sink may keep the rows it was given
			continue
		}
		row, err := exporter.ParseRow(line[:len(line)-1])
		if err != nil {
			return err
		}
		batch = append(batch, row)
	}
}

func (sp *spill) remove() {
	_ = sp.f.Close()
	_ = os.Remove(sp.f.Name())
}

// stoppedBy is a query's error when the run's stop (another query's
// fatal failure) interrupted it: that failure, so it ends as a single
// query would have on it.
func stoppedBy(err, cause error, outer <-chan struct{}) error {
	if cause == nil || !errors.Is(err, pager.ErrInterrupted) || errors.Is(cause, pager.ErrInterrupted) {
		return err
	}
	select {
	case <-outer:
		return err // the operator stopped it too
	default:
	}
	return fmt.Errorf("stopped when another query failed: %w", cause)
}
