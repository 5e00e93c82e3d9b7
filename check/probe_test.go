package check_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fairway/check"
)

// server answers like a real service: what varies between calls (the
// time, a request id, how long it took) sits beside what does not.
func server(t *testing.T) *httptest.Server {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := n.Add(1)
		switch r.URL.Path {
		case "/session":
			if r.Header.Get("Authorization") != "Bearer t0ken" {
				http.Error(w, "no session", http.StatusUnauthorized)
				return
			}
			fmt.Fprintf(w, `{"user":"alice","at":"%s","request":"%08x-0000-4000-8000-%012x","took":"%dms"}`, time.Now().UTC().Format(time.RFC3339Nano), id, id, id%7)
		case "/slow":
			<-r.Context().Done()
		case "/down":
			http.Error(w, "maintenance at "+time.Now().UTC().Format(time.RFC3339), http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

const probeSuite = `name: http-smoke
coverage: [auth/session, admin/ops, terminal-connect]
masks:
  - builtin: timestamps
  - builtin: uuids
  - pattern: '"took":"\d+ms"'
    as: '"took":"<duration>"'
checks:
  - name: session
    http:
      url: ${BASE}/session
      headers: {Authorization: "Bearer ${TOKEN}"}
      body: '"user":"alice"'
    covers: [auth/session]
  - name: session-anonymous
    http: {url: "${BASE}/session", status: 401}
    covers: [auth/session]
  - name: ops-down
    http: {method: GET, url: "${BASE}/down"}
    covers: [admin/ops]
  - name: terminal
    http: {url: "${BASE}/slow"}
    covers: [terminal-connect]
    timeout: 50ms
`

func runSuite(t *testing.T, s *check.Suite, base string) []check.Result {
	t.Helper()
	env := func(k string) string { return map[string]string{"BASE": base, "TOKEN": "t0ken"}[k] }
	var calls []int
	res, err := check.Execute(context.Background(), s, 4, func(ctx context.Context, c *check.Check) (check.Result, error) {
		return s.RunProbe(ctx, http.DefaultClient, c, env), nil
	}, func(done int, _ check.Result) { calls = append(calls, done) })
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(calls) != "[1 2 3 4]" {
		t.Fatalf("progress calls = %v", calls)
	}
	return res
}

// TestProbe_JudgesStatusBodyAndTimeoutWithStableDigests: each probe is
// judged by its status and body, a hung service times out, and two runs
// against a service whose answers carry times, ids and durations give
// byte-identical digests and JUnit reports.
func TestProbe_JudgesStatusBodyAndTimeoutWithStableDigests(t *testing.T) {
	s, err := check.Load("smoke.yaml", []byte(probeSuite))
	if err != nil {
		t.Fatal(err)
	}
	srv := server(t)
	first := runSuite(t, s, srv.URL)
	second := runSuite(t, s, srv.URL)
	type row struct {
		check   string
		passed  bool
		status  int
		failure string
	}
	var got []row
	for _, r := range first {
		got = append(got, row{r.Check, r.Passed, r.Status, r.Failure})
	}
	want := []row{
		{"session", true, 200, ""},
		{"session-anonymous", true, 401, ""},
		{"ops-down", false, 503, "status 503, want 200"},
		{"terminal", false, 0, "no response: timed out"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("results = %v\nwant %v", got, want)
	}
	if !strings.Contains(string(first[0].Output), `"at":"<timestamps>","request":"<uuids>","took":"<duration>"`) {
		t.Fatalf("normalised output = %s", first[0].Output)
	}
	for i := range first {
		if first[i].Digest != second[i].Digest || !bytes.Equal(first[i].Output, second[i].Output) {
			t.Fatalf("%s: digests differ between runs: %s %q / %s %q", first[i].Check, first[i].Digest, first[i].Output, second[i].Digest, second[i].Output)
		}
	}
	if a, b := check.JUnit(s, first), check.JUnit(s, second); !bytes.Equal(a, b) {
		t.Fatalf("JUnit reports differ:\n%s\n%s", a, b)
	}
	junit := string(check.JUnit(s, first))
	for _, want := range []string{`<testsuite name="http-smoke" tests="4" failures="2" errors="0" skipped="0">`,
		`<testcase name="ops-down" classname="http-smoke.admin/ops">`, `<failure message="status 503, want 200"></failure>`,
		`<property name="digest" value="` + first[0].Digest + `"></property>`} {
		if !strings.Contains(junit, want) {
			t.Fatalf("JUnit lacks %s:\n%s", want, junit)
		}
	}
	// Without the masks the same service gives different digests: the
	// masks are what make them stable.
	bare, err := check.Load("bare.yaml", []byte(strings.Replace(probeSuite, "masks:\n  - builtin: timestamps\n  - builtin: uuids\n  - pattern: '\"took\":\"\\d+ms\"'\n    as: '\"took\":\"<duration>\"'\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := runSuite(t, bare, srv.URL), runSuite(t, bare, srv.URL); a[0].Digest == b[0].Digest {
		t.Fatalf("unmasked outputs gave one digest: %q", a[0].Output)
	}
}

func TestLoad_RefusesBadProbesAndMasks(t *testing.T) {
	cases := []struct{ from, to, want string }{
		{"http: {method: GET, url: \"${BASE}/down\"}", "http: {method: FETCH, url: \"${BASE}/down\"}", `checks[2].http.method: "FETCH" is not an HTTP method`},
		{"http: {url: \"${BASE}/session\", status: 401}", "http: {url: \"ftp://x/\", status: 401}", `checks[1].http.url: "ftp://x/" is not an http or https URL`},
		{"http: {url: \"${BASE}/session\", status: 401}", "http: {url: \"${BASE}/session\", status: 42}", "checks[1].http.status: 42 is not an HTTP status"},
		{"body: '\"user\":\"alice\"'", "body: '(alice'", `checks[0].http.body: "(alice" is not a regular expression`},
		{"  - builtin: uuids\n", "  - builtin: guids\n", `smoke.yaml:5:5: masks[1]: builtin "guids" is not a mask`},
		{"    http: {url: \"${BASE}/slow\"}\n", "    http: {url: \"${BASE}/slow\"}\n    command: [true]\n", "checks[3]: give command or http, not both"},
	}
	for _, c := range cases {
		if !strings.Contains(probeSuite, c.from) {
			t.Fatalf("case %q does not apply", c.from)
		}
		_, err := check.Load("smoke.yaml", []byte(strings.Replace(probeSuite, c.from, c.to, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q → %q: %v, want %q", c.from, c.to, err, c.want)
		}
	}
}

func TestDerive_RefusedMutatingCheckShowsItsBlocker(t *testing.T) {
	s, err := check.Load("smoke.yaml", []byte(probeSuite))
	if err != nil {
		t.Fatal(err)
	}
	items := check.Derive(s, []check.Result{
		{Check: "session", Covers: []string{"auth/session"}, Evidence: "EV-1", Passed: true},
		{Check: "ops-down", Covers: []string{"admin/ops"}, Refused: "prerequisite kind-compute-capacity"},
	})
	if items[1].State != check.Blocked || fmt.Sprint(items[1].Blockers) != "[prerequisite kind-compute-capacity]" || items[0].State != check.Proven {
		t.Fatalf("items = %+v", items)
	}
	// A later blocked run does not hide an earlier proof.
	merged := check.Merge([]check.Matrix{{Items: []check.Item{{Item: "admin/ops", State: check.Proven, Proven: []string{"EV-0"}}}}, {Items: items}})
	if merged[0].Item != "admin/ops" || merged[0].State != check.Proven {
		t.Fatalf("merged = %+v", merged)
	}
}

// A probe whose URL, once its ${VARS} are filled in, is not a URL fails
// naming the URL as the suite writes it: the values that came from the
// environment (a token in a query, say) never reach the output that is
// recorded as evidence, nor the failure shown.
func TestProbe_BadURLNeverShowsTheEnvironmentsValues(t *testing.T) {
	s, err := check.Load("suite.yaml", []byte(`name: leak
coverage: [api]
checks:
  - name: api
    http: {url: "${BASE}/v1?key=${API_KEY}"}
    covers: [api]
`))
	if err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		return map[string]string{"BASE": "http://127.0.0.1:1", "API_KEY": "sk-live-\x7fq8Zt3"}[k]
	}
	r := s.RunProbe(context.Background(), http.DefaultClient, s.Checks[0], env)
	if r.Passed || strings.Contains(r.Failure, "q8Zt3") || strings.Contains(string(r.Output), "q8Zt3") || !strings.Contains(r.Failure, "${BASE}/v1?key=${API_KEY}") {
		t.Fatalf("failure %q, output %q", r.Failure, r.Output)
	}
}
