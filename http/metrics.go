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
	// The method is the caller's choice, token or not: only the
	// standard ones become labels.
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
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

// storeHealth is the store behind the service, when it reports its health.
func (s *Server) storeHealth() fairway.StoreHealth {
	if l, ok := s.service.(interface{ Store() fairway.Store }); ok {
		if h, ok := l.Store().(fairway.StoreHealth); ok {
			return h
		}
	}
	return nil
}

// ready reports whether the store answers and its migrations are current:
// a replica that cannot read its store, or runs against a schema of
// another build, should leave the load balancer's pool. /healthz says only
// that the process serves.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	var err error
	if h := s.storeHealth(); h != nil {
		err = h.Ready(r.Context())
	}
	if err == nil {
		_, err = s.service.AuditLog(r.Context(), fairway.AuditFilter{Limit: 1})
	}
	if err != nil {
		s.logger.Error("not ready", "err", err)
		http.Error(w, "not ready: "+fairway.ErrorMessage(err)+"\n", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	s.metrics.write(w)
	if h := s.storeHealth(); h != nil {
		writeStoreStats(w, h.Stats())
	}
}

// writeStoreStats prints a store's group commits and pool use.
func writeStoreStats(w io.Writer, st fairway.StoreStats) {
	histogram(w, "fairway_store_batch_writes", "Writes committed together in one transaction (group commit).", st.BatchWrites)
	histogram(w, "fairway_store_commit_seconds", "Time from a write batch's start to its commit, retries included.", st.CommitSeconds)
	fmt.Fprintln(w, "# HELP fairway_store_batch_retries_total Write batches run again after failing to serialize with another replica's.")
	fmt.Fprintln(w, "# TYPE fairway_store_batch_retries_total counter")
	fmt.Fprintf(w, "fairway_store_batch_retries_total %d\n", st.Retries)
	if p := st.Pool; p != nil {
		gauge := func(name, help string, v int32) {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
		}
		gauge("fairway_store_pool_max_connections", "Most database connections the pool opens (0: no limit).", p.Max)
		gauge("fairway_store_pool_connections", "Database connections open.", p.Total)
		gauge("fairway_store_pool_idle_connections", "Open database connections idle.", p.Idle)
		gauge("fairway_store_pool_in_use_connections", "Database connections in use.", p.Acquired)
		fmt.Fprintln(w, "# HELP fairway_store_pool_acquires_total Database connections handed out.")
		fmt.Fprintln(w, "# TYPE fairway_store_pool_acquires_total counter")
		fmt.Fprintf(w, "fairway_store_pool_acquires_total %d\n", p.Acquires)
		fmt.Fprintln(w, "# HELP fairway_store_pool_waits_total Connection requests that waited for a free connection.")
		fmt.Fprintln(w, "# TYPE fairway_store_pool_waits_total counter")
		fmt.Fprintf(w, "fairway_store_pool_waits_total %d\n", p.Waited)
		fmt.Fprintln(w, "# HELP fairway_store_pool_wait_seconds_total Time spent waiting for a free connection.")
		fmt.Fprintln(w, "# TYPE fairway_store_pool_wait_seconds_total counter")
		fmt.Fprintf(w, "fairway_store_pool_wait_seconds_total %g\n", p.WaitSeconds)
	}
}

func histogram(w io.Writer, name, help string, h fairway.Histogram) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	for i, le := range h.Bounds {
		fmt.Fprintf(w, "%s_bucket{le=%q} %d\n", name, strconv.FormatFloat(le, 'g', -1, 64), h.Counts[i])
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %g\n%s_count %d\n", name, h.Count, name, h.Sum, name, h.Count)
}
