package check

import (
	"fmt"
	"testing"
	"time"
)

// benchSuite is a suite with the three builtin masks the suite bench
// uses, and a probe's output like the bench server's answer.
func benchSuite(b *testing.B) (*Suite, []byte) {
	src := "name: bench\ncoverage: [bench/area]\nmasks:\n  - builtin: timestamps\n  - builtin: uuids\n  - builtin: durations\nchecks:\n  - name: probe-000\n    http: {url: \"http://127.0.0.1:1/v1/p/0\", body: '\"ok\":true'}\n    covers: [bench/area]\n    timeout: 10s\n"
	s, err := Load("b.yaml", []byte(src))
	if err != nil {
		b.Fatal(err)
	}
	id := 12345
	out := fmt.Sprintf("GET probe-000\nHTTP 200\n"+`{"path":%q,"ok":true,"at":"%s","request":"%08x-0000-4000-8000-%012x","took":"%dms"}`,
		"/v1/p/17", time.Now().UTC().Format(time.RFC3339Nano), id, id, id%13)
	return s, []byte(out)
}

// BenchmarkNormalise is the masks' cost on one probe's output; the
// same masks as regular expressions are the baseline.
func BenchmarkNormalise(b *testing.B) {
	s, out := benchSuite(b)
	b.Run("matchers", func(b *testing.B) {
		for b.Loop() {
			s.Normalise(out)
		}
	})
	b.Run("regexps", func(b *testing.B) {
		for b.Loop() {
			o := out
			for _, m := range s.masks {
				o = m.re.ReplaceAllLiteral(o, m.as)
			}
		}
	})
}

// BenchmarkJUnit is a 200-check report, written out and through
// encoding/xml (the baseline).
func BenchmarkJUnit(b *testing.B) {
	s, out := benchSuite(b)
	r := s.finish(Result{Check: "probe-000", Covers: []string{"bench/area"}, Passed: true}, out)
	rs := make([]Result, 200)
	for i := range rs {
		rs[i] = r
	}
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			JUnit(s, rs)
		}
	})
	b.Run("encoding-xml", func(b *testing.B) {
		for b.Loop() {
			junitByMarshal(s, rs)
		}
	})
}
