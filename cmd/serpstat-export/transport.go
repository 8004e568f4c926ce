package main

import "net/http"

// keepAliveTransport is the API's transport: http.DefaultTransport's
// settings, with as many idle connections kept as requests may be in
// flight (--workers is at most 64). The default keeps 2 a host: with more
// workers, most requests opened a connection of their own (a TLS
// handshake on the real API), and the time that took, different each
// time, shortened the gap to the next request at the API's limiter.
func keepAliveTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.MaxIdleConns = max(t.MaxIdleConns, 64)
	return t
}
