package serpstat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Client defaults.
const (
	// DefaultTimeout bounds one request, answer included.
	DefaultTimeout = 2 * time.Minute
	// DefaultMaxBodyBytes caps an answer's body: a 1,000-row page is about
	// 400 KB, so 64 MiB is only ever reached by a broken or hostile answer.
	DefaultMaxBodyBytes = 64 << 20
)

// Client calls the API. Set its fields before the first call; after that it
// is safe for concurrent use.
type Client struct {
	// Endpoint is the API URL; "" means DefaultEndpoint.
	Endpoint string
	// Token authenticates every call. It is sent in the "token" header, or
	// in the query string when TokenInQuery is set, and is redacted from
	// every error the Client returns.
	Token        string
	TokenInQuery bool
	// HTTPClient sends the requests; nil means a client with DefaultTimeout.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent when not empty.
	UserAgent string
	// MaxBodyBytes caps an answer's body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	seq atomic.Int64
	// decoding lets at most GOMAXPROCS answers be decoded at once (made
	// once, on first use): decoding is CPU work, so more at once is no
	// faster and holds more decoded rows in memory while the writer is
	// the bottleneck.
	decodeOnce sync.Once
	decoding   chan struct{}
	// lastBody is the size of the last answer read: the guess at the size
	// of an answer that does not say its own.
	lastBody atomic.Int64
}

// NewClient returns a Client for the default endpoint.
func NewClient(token string) *Client {
	return &Client{Token: token}
}

var defaultHTTPClient = &http.Client{Timeout: DefaultTimeout}

// Fetch calls m for one page with p (only the params m documents). A "no
// data" error answer comes back as an empty page with NoData set, not as
// an error, since it is billed like one.
func (c *Client) Fetch(ctx context.Context, m *Method, p Params) (*Page, error) {
	body, err := m.MarshalParams(p)
	if err != nil {
		return nil, err
	}
	raw, err := c.exchange(ctx, m.API, body)
	var ae *Error
	if errors.As(err, &ae) && ae.Class() == ClassNoData {
		// "No data" with a non-200 status (404 "Empty result!"): billed
		// like an empty page, and one.
		return &Page{NoData: true, Summary: SummaryInfo{Total: TotalUnknown, Page: Int(p.Page)}}, nil
	}
	if err != nil {
		return nil, err
	}
	c.decodeOnce.Do(func() { c.decoding = make(chan struct{}, runtime.GOMAXPROCS(0)) })
	select {
	case c.decoding <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	page, err := m.DecodeAnswer(raw)
	<-c.decoding
	if errors.As(err, &ae) {
		e := *ae
		e.Message = c.redact(e.Message)
		return nil, &e
	}
	if err != nil {
		return nil, err
	}
	if page.NoData {
		page.Summary.Page = Int(p.Page)
	}
	return page, nil
}

// Stats calls getStats, which costs no credits, and returns the balance.
func (c *Client) Stats(ctx context.Context) (*Stats, error) {
	var res struct {
		Data    Stats       `json:"data"`
		Summary SummaryInfo `json:"summary_info"`
	}
	if _, err := c.call(ctx, MethodStats, struct{}{}, &res); err != nil {
		return nil, err
	}
	if res.Data.LeftLines == 0 && res.Summary.LeftLines != 0 {
		res.Data.LeftLines = res.Summary.LeftLines
	}
	return &res.Data, nil
}

// call sends one request and decodes the answer's result into out. It
// returns how many invalid UTF-8 sequences the answer held (decoded as
// U+FFFD).
func (c *Client) call(ctx context.Context, method string, params, out any) (int, error) {
	raw, err := c.exchange(ctx, method, params)
	if err != nil {
		return 0, err
	}
	return decodeAnswer(method, raw, out, c.redact)
}

// decodeAnswer decodes an HTTP-200 answer's result into out, or returns its
// error: an *Error the API answered (its message passed through redact), a
// *BodyError for a body that is not complete JSON (cut short: worth a
// retry), an *UnexpectedError for well-formed JSON of a shape this version
// cannot read (not worth one: it would buy the same answer).
func decodeAnswer(method string, raw []byte, out any, redact func(string) string) (int, error) {
	repaired := 0
	if !utf8.Valid(raw) {
		repaired = countInvalidUTF8(raw)
	}
	// One decode: the result goes straight into out (an interface holding
	// a pointer is decoded into). Paged methods are decoded by
	// Method.DecodeAnswer (Fetch); this is getStats'.
	env := struct {
		Result any    `json:"result"`
		Error  *Error `json:"error"`
	}{Result: out}
	err := json.Unmarshal(raw, &env)
	switch {
	case err != nil:
	case env.Error != nil:
		err = env.Error
	case env.Result == nil || !bytes.Contains(raw, []byte(`"result"`)):
		err = errors.New("the answer has neither result nor error")
	}
	var ae *Error
	switch {
	case err == nil:
		return repaired, nil
	case errors.As(err, &ae):
		e := *ae
		e.Message = redact(e.Message)
		return repaired, &e
	case !json.Valid(raw):
		return repaired, &BodyError{Err: fmt.Errorf("decode %s answer (%d bytes): %w", method, len(raw), err)}
	}
	return repaired, unexpected(method, raw, err)
}

func countInvalidUTF8(b []byte) int {
	n := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			n++
		}
		b = b[size:]
	}
	return n
}

// exchange sends one request and returns the body of its HTTP-200 answer.
func (c *Client) exchange(ctx context.Context, method string, params any) ([]byte, error) {
	id := strconv.FormatInt(c.seq.Add(1), 10)
	body, err := json.Marshal(Request{ID: id, Method: method, Params: params})
	if err != nil {
		return nil, fmt.Errorf("serpstat: encode %s: %w", method, err)
	}
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if c.TokenInQuery {
		u, err := url.Parse(endpoint)
		if err != nil {
			return nil, fmt.Errorf("serpstat: endpoint: %w", err)
		}
		q := u.Query()
		q.Set("token", c.Token)
		u.RawQuery = q.Encode()
		endpoint = u.String()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, c.transportErr(ctx, "build request", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if !c.TokenInQuery {
		req.Header.Set("token", c.Token)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, c.transportErr(ctx, "send", err)
	}
	defer resp.Body.Close()

	limit := c.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	raw, err := readBody(resp.Body, resp.ContentLength, c.lastBody.Load(), limit)
	if err == nil {
		c.lastBody.Store(int64(len(raw)))
	}
	if err != nil {
		if resp.StatusCode == http.StatusOK {
			// The answer was produced, so it may have been billed.
			return nil, &BodyError{Err: c.redactErr(ctx, "read answer", err)}
		}
		return nil, c.transportErr(ctx, "read answer", err)
	}
	if resp.StatusCode != http.StatusOK {
		// The API documents HTTP 200 for every answer, but a non-200 one
		// that still carries its error object (404 "Empty result!", 400
		// with a 32117 filter message) means what the error says.
		if ae := apiErrorIn(raw); ae != nil {
			switch ae.Class() {
			case ClassNoData, ClassInvalid, ClassWall, ClassCredits, ClassAuth:
				ae.Message = c.redact(ae.Message)
				return nil, ae
			}
		}
		snippet := string(raw)
		if len(snippet) > 200 {
			snippet = snippet[:200]
		}
		return nil, &HTTPError{
			StatusCode: resp.StatusCode,
			Status:     resp.Status,
			RetryAfter: resp.Header.Get("Retry-After"),
			Body:       c.redact(strings.Join(strings.Fields(snippet), " ")),
		}
	}
	if int64(len(raw)) > limit {
		return nil, &BodyError{Err: fmt.Errorf("answer larger than %d bytes (a broken or hostile answer; the cap is MaxBodyBytes)", limit)}
	}
	return raw, nil
}

// readBody reads body, at most limit+1 bytes of it, into one buffer of
// the size the body says (its HTTP Content-Length, size, when known), or
// else of a little more than hint, the size of the previous answer. A
// body larger than that is read on, its buffer growing. io.ReadAll grows
// its buffer from 512 bytes by doubling: for a 1,000-row page of 260 KB it
// allocates 2.5 times the page, a third of what an export allocates.
func readBody(body io.Reader, size, hint, limit int64) ([]byte, error) {
	r := io.LimitReader(body, limit+1)
	var n int64
	switch {
	case size > 0 && size <= limit:
		// One byte more, so that the read that finds the end of the
		// body has room and the buffer stays as it is.
		n = size + 1
	case size < 0 && hint > 0:
		n = min(hint+hint/8+512, limit+1)
	default:
		return io.ReadAll(r)
	}
	buf := make([]byte, 0, n)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow, as io.ReadAll does
		}
	}
}

// apiErrorIn returns the API error object of raw, if raw is one.
func apiErrorIn(raw []byte) *Error {
	var r struct {
		Error *Error `json:"error"`
	}
	if json.Unmarshal(raw, &r) != nil || r.Error == nil || r.Error.Message == "" {
		return nil
	}
	return r.Error
}

// transportErr turns a failure to exchange the request into a
// *TransportError, or returns the caller's context error when that is what
// ended it.
func (c *Client) transportErr(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("serpstat: %s: %w", op, ctxErr)
	}
	return c.redactErr(ctx, op, err)
}

func (c *Client) redactErr(_ context.Context, op string, err error) *TransportError {
	var ue *url.Error
	if errors.As(err, &ue) {
		// *url.Error prints the URL, which holds the token in query form.
		cp := *ue
		cp.URL = c.redact(cp.URL)
		err = &cp
	}
	return &TransportError{Err: err, msg: "serpstat: " + op + ": " + c.redact(err.Error())}
}

// redact removes the token from s, in its plain and URL-escaped forms.
func (c *Client) redact(s string) string {
	return Redact(s, c.Token)
}

// Redact replaces every occurrence of token in s (plain, query-escaped and
// path-escaped) with "REDACTED".
func Redact(s, token string) string {
	if token == "" {
		return s
	}
	for _, t := range []string{token, url.QueryEscape(token), url.PathEscape(token)} {
		if t != "" {
			s = strings.ReplaceAll(s, t, "REDACTED")
		}
	}
	return s
}
