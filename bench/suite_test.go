package bench_test

import (
	"context"
	"testing"

	"fairway/bench"
)

// Two runs of the same suite against a service whose answers carry fresh
// times, ids and durations give the same digests and the same report.
func TestSuiteOverhead_TwoRunsGiveIdenticalDigests(t *testing.T) {
	r, err := bench.SuiteOverhead(context.Background(), 40, 4, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Identical != 40 || r.Checks != 40 || !r.Report {
		t.Fatalf("result = %+v", r)
	}
}
