package serpstat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Class says what a failure means for the caller. Classify decides it, in
// one place, for every error the Client returns.
type Class int

// The classes of failure.
const (
	// ClassUnknown is an error nothing is known about: stop, exit 1.
	ClassUnknown Class = iota
	// ClassRateLimited: the plan's requests per second were exceeded; slow
	// down and retry. Not billed.
	ClassRateLimited
	// ClassAuth: token missing or invalid, plan without API, method
	// forbidden. Never retried.
	ClassAuth
	// ClassCredits: the account is out of credits. Never retried.
	ClassCredits
	// ClassInvalid: the request's params or complexFilter were refused.
	ClassInvalid
	// ClassNoData: the query matched nothing; an empty page (billed 1).
	ClassNoData
	// ClassWall: the page is past the 60,000-row wall; stop paging.
	ClassWall
	// ClassTransient: 5xx, gateway 429, a connection error, a non-JSON or
	// truncated body, "Undefined server error": retry with backoff.
	ClassTransient
	// ClassCanceled: the caller's context ended.
	ClassCanceled
	// ClassUnexpected: a well-formed answer of a shape this version cannot
	// read (*UnexpectedError). It was billed and asking again buys the
	// same answer: never retried; stop, keep its raw bytes, exit 1.
	ClassUnexpected
)

var classNames = [...]string{"unknown", "rate-limited", "auth", "credits", "invalid", "no-data", "wall", "transient", "canceled", "unexpected"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Error is the `error` object of an HTTP-200 answer.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("serpstat: api error %d: %s", e.Code, e.Message)
}

var (
	reRate    = regexp.MustCompile(`(?i)too many|per second|frequency|rate limit`)
	reNoData  = regexp.MustCompile(`(?i)no data|data not found|nothing found|empty result`)
	reWall    = regexp.MustCompile(`(?i)to get more than|export report|more than \d+ (results|rows)`)
	reInvalid = regexp.MustCompile(`(?i)schema|validation|not allowed field|not allowed method|field value is required|invalid crawl date|invalid param|bad request|invalid (field|value|filter|sort|order|size|page|query|domain)`)
	reCredits = regexp.MustCompile(`(?i)credit|not enough|limit exceeded|lines? (limit|exceeded)|insufficient`)
	reAuth    = regexp.MustCompile(`(?i)token|not allowed for your plan|api not allowed|access denied|forbidden|unauthori[sz]ed|permission|not allowed`)
	reServer  = regexp.MustCompile(`(?i)undefined server error|internal (server )?error|temporar|try again|unavailable|timeout`)
)

// Class classifies the API error as api-notes.md documents the codes.
// Messages are read before codes, because the same code (400, 403, 402) is
// used for different cases. Over-rate is 32000 or 429 (or a message saying
// so); -32000 and -32429 are not documented as over-rate for this API, so
// they are unknown unless their message says rate. 404 "Empty result!" is
// no data.
func (e *Error) Class() Class {
	m := e.Message
	switch {
	case reRate.MatchString(m) || e.Code == 32000 || e.Code == 429:
		return ClassRateLimited
	case e.Code == 32015 || e.Code == 32017 || e.Code == 404 || reNoData.MatchString(m):
		return ClassNoData
	case reWall.MatchString(m):
		return ClassWall
	case e.Code == 32117 || reInvalid.MatchString(m):
		return ClassInvalid
	case e.Code == 32012 || reCredits.MatchString(m):
		return ClassCredits
	case reAuth.MatchString(m) || e.Code == 401 || e.Code == 403:
		return ClassAuth
	case e.Code == 402:
		return ClassCredits
	case e.Code == 400:
		return ClassInvalid
	case e.Code >= 500 && e.Code < 600, e.Code == -32603, reServer.MatchString(m):
		return ClassTransient
	}
	return ClassUnknown
}

// Temporary reports whether the same request may succeed when retried.
func (e *Error) Temporary() bool { c := e.Class(); return c == ClassTransient || c == ClassRateLimited }

// RateLimited reports whether the answer asks to slow down.
func (e *Error) RateLimited() bool { return e.Class() == ClassRateLimited }

// HTTPError is a non-200 answer: the API itself always answers 200, so this
// comes from a proxy or gateway.
type HTTPError struct {
	StatusCode int
	Status     string
	// RetryAfter is the Retry-After header, if the answer had one.
	RetryAfter string
	// Body is the start of the body, for the message.
	Body string
}

func (e *HTTPError) Error() string {
	msg := "serpstat: http " + e.Status
	if b := strings.TrimSpace(e.Body); b != "" {
		msg += ": " + b
	}
	return msg
}

// BodyError is an HTTP-200 answer whose body could not be used: not JSON,
// truncated, or neither result nor error. The API may have billed it.
type BodyError struct {
	Err error
}

func (e *BodyError) Error() string { return "serpstat: unusable answer: " + e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

// Classify tells what err means for the caller. It is the one place where
// that is decided; nil is ClassUnknown.
func Classify(err error) Class {
	if err == nil {
		return ClassUnknown
	}
	// The Client wraps its own transport failures (including its HTTP
	// timeout) in *TransportError and returns the caller's context error
	// as it is, so the order of these two checks matters.
	var te *TransportError
	if errors.As(err, &te) {
		return ClassTransient
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ClassCanceled
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Class()
	}
	var he *HTTPError
	if errors.As(err, &he) {
		switch {
		case he.StatusCode == 429:
			return ClassRateLimited
		case he.StatusCode >= 500, he.StatusCode == 408:
			return ClassTransient
		case he.StatusCode == 401, he.StatusCode == 403:
			return ClassAuth
		case he.StatusCode == 402:
			return ClassCredits
		}
		return ClassUnknown
	}
	var be *BodyError
	if errors.As(err, &be) {
		return ClassTransient
	}
	var ue *UnexpectedError
	if errors.As(err, &ue) {
		return ClassUnexpected
	}
	return ClassUnknown
}

// TransportError is a failure to exchange a request and an answer:
// connection refused or reset, a timeout, an answer cut short. Its message
// never holds the token.
type TransportError struct {
	Err error
	msg string
}

func (e *TransportError) Error() string { return e.msg }
func (e *TransportError) Unwrap() error { return e.Err }

// ParamError is a request param that would be refused; it is found before
// anything is sent.
type ParamError struct {
	Field string // the flag or config name, e.g. "size"
	Value string
	Msg   string // what is allowed, e.g. "must be 1..1000"
}

func (e *ParamError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("%s %s; got %s", e.Field, e.Msg, e.Value)
	}
	return e.Field + " " + e.Msg
}
