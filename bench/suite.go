package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"fairway/check"
)

// SuiteResult is one measurement of the check harness.
type SuiteResult struct {
	// Harness is the median time of a whole suite run through the
	// harness (parallel probes, masks, digests, the JUnit report);
	// Baseline the median time of the same requests made by a plain
	// loop with the same parallelism.
	Harness, Baseline time.Duration
	// Identical counts the checks whose digests two runs agree on, of
	// Checks.
	Identical, Checks int
	// Report says whether the two runs' JUnit reports are byte-identical.
	Report bool
}

// probeServer answers cheaply, with what varies between calls (a time,
// a request id, a duration) beside what does not.
func probeServer(delay time.Duration) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	var n atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := n.Add(1)
		if delay > 0 {
			time.Sleep(delay)
		}
		fmt.Fprintf(w, `{"path":%q,"ok":true,"at":"%s","request":"%08x-0000-4000-8000-%012x","took":"%dms"}`,
			r.URL.Path, time.Now().UTC().Format(time.RFC3339Nano), id, id, id%13)
	})}
	go srv.Serve(ln)
	return srv, "http://" + ln.Addr().String(), nil
}

// SuiteOverhead runs a suite of checks cheap HTTP probes against a local
// server (answering after delay) through the harness, runs times, against
// the same requests made by a plain loop; and compares two harness runs'
// digests.
func SuiteOverhead(ctx context.Context, checks, parallel, runs int, delay time.Duration) (*SuiteResult, error) {
	srv, base, err := probeServer(delay)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	var src bytes.Buffer
	src.WriteString("name: bench\ncoverage: [bench/area]\nmasks:\n  - builtin: timestamps\n  - builtin: uuids\n  - builtin: durations\nchecks:\n")
	for i := range checks {
		fmt.Fprintf(&src, "  - name: probe-%03d\n    http: {url: \"%s/v1/p/%d\", body: '\"ok\":true'}\n    covers: [bench/area]\n    timeout: 10s\n", i, base, i)
	}
	s, err := check.Load("bench.yaml", src.Bytes())
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: parallel}}
	env := func(string) string { return "" }
	harness := func() ([]check.Result, []byte, error) {
		res, err := check.Execute(ctx, s, parallel, func(ctx context.Context, c *check.Check) (check.Result, error) {
			return s.RunProbe(ctx, client, c, env), nil
		}, nil)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range res {
			if !r.Passed {
				return nil, nil, fmt.Errorf("probe %s failed: %s", r.Check, r.Failure)
			}
		}
		return res, check.JUnit(s, res), nil
	}
	// The plain loop is parallel workers taking the requests in turn, as
	// the harness's are: what the same requests cost made as cheaply as
	// plain code makes them.
	plain := func() error {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var first error
		var next atomic.Int64
		for range min(parallel, checks) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(checks) {
						return
					}
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/v1/p/%d", base, i), nil)
					resp, err := client.Do(req)
					if err == nil {
						_, err = io.ReadAll(resp.Body)
						resp.Body.Close()
					}
					if err != nil {
						mu.Lock()
						first = err
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		return first
	}
	// Warm the connections, then alternate, so both see the same machine.
	if err := plain(); err != nil {
		return nil, err
	}
	var hs, bs []time.Duration
	var a, b []check.Result
	var ra, rb []byte
	for i := range runs {
		start := time.Now()
		res, rep, err := harness()
		if err != nil {
			return nil, err
		}
		hs = append(hs, time.Since(start))
		if i == 0 {
			a, ra = res, rep
		}
		b, rb = res, rep
		start = time.Now()
		if err := plain(); err != nil {
			return nil, err
		}
		bs = append(bs, time.Since(start))
	}
	out := &SuiteResult{Harness: Median(hs), Baseline: Median(bs), Checks: checks, Report: bytes.Equal(ra, rb)}
	for i := range a {
		if a[i].Digest == b[i].Digest {
			out.Identical++
		}
	}
	return out, nil
}
