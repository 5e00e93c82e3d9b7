package http

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"fairway"
)

// durationBuckets are the upper bounds, in seconds, of the request
// duration histogram: from a cached read to a slow fsync.
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// metrics counts requests by route and status, and their durations, for
// GET /metrics in the Prometheus text format. Routes, not paths, label
// them, so task keys never become label values.
type metrics struct {
	mu       sync.Mutex
	requests map[requestKey]int64
	buckets  map[string][]int64 // route → count per bucket, cumulative at write
	sum      map[string]float64
	count    map[string]int64
}

type requestKey struct{ method, route, status string }

func newMetrics() *metrics {
	return &metrics{requests: map[requestKey]int64{}, buckets: map[string][]int64{}, sum: map[string]float64{}, count: map[string]int64{}}
}

func (m *metrics) observe(method, route string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	secs := took.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[requestKey{method, route, strconv.Itoa(status)}]++
	b := m.buckets[route]
	if b == nil {
		b = make([]int64, len(durationBuckets))
		m.buckets[route] = b
	}
	for i, le := range durationBuckets {
		if secs <= le {
			b[i]++
		}
	}
	m.sum[route] += secs
	m.count[route]++
}

// write prints the metrics.
func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP fairway_http_requests_total HTTP requests served, by method, route and status.")
	fmt.Fprintln(w, "# TYPE fairway_http_requests_total counter")
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a.route+a.method+a.status < b.route+b.method+b.status
	})
	for _, k := range keys {
		fmt.Fprintf(w, "fairway_http_requests_total{method=%q,route=%q,status=%q} %d\n", k.method, k.route, k.status, m.requests[k])
	}
	fmt.Fprintln(w, "# HELP fairway_http_request_duration_seconds Time to answer a request, by route.")
	fmt.Fprintln(w, "# TYPE fairway_http_request_duration_seconds histogram")
	routes := make([]string, 0, len(m.count))
	for r := range m.count {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	for _, r := range routes {
		for i, le := range durationBuckets {
			fmt.Fprintf(w, "fairway_http_request_duration_seconds_bucket{route=%q,le=%q} %d\n", r, strconv.FormatFloat(le, 'g', -1, 64), m.buckets[r][i])
		}
		fmt.Fprintf(w, "fairway_http_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", r, m.count[r])
		fmt.Fprintf(w, "fairway_http_request_duration_seconds_sum{route=%q} %g\n", r, m.sum[r])
		fmt.Fprintf(w, "fairway_http_request_duration_seconds_count{route=%q} %d\n", r, m.count[r])
	}
}

// routeOf is the pattern the mux matched, without its method.
func routeOf(r *http.Request) string {
	_, path, _ := strings.Cut(r.Pattern, " ")
	if path == "" {
		return r.Pattern
	}
	return path
}

// ready reports whether the store answers: a replica that cannot read
// its store should leave the load balancer's pool.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if _, err := s.service.AuditLog(r.Context(), fairway.AuditFilter{Limit: 1}); err != nil {
		s.logger.Error("not ready", "err", err)
		http.Error(w, "the store does not answer\n", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	s.metrics.write(w)
}
