package main

import "testing"

// The other build's figure is the better of its runs: the higher rate,
// the lower time; a row it lacks has none.
func TestBench_BeforeTakesTheBetterRun(t *testing.T) {
	rows := []benchRow{{Name: "writes", Unit: "writes/s"}, {Name: "explain", Unit: "µs median"}, {Name: "new row", Unit: "writes/s"}}
	first := []benchRow{{Name: "writes", Unit: "writes/s", Value: 5000, Ratio: 9}, {Name: "explain", Unit: "µs median", Value: 700, Ratio: 2}}
	second := []benchRow{{Name: "writes", Unit: "writes/s", Value: 6000, Ratio: 10}, {Name: "explain", Unit: "µs median", Value: 900, Ratio: 3}}
	setBefore(rows, first, second)
	if rows[0].Before == nil || *rows[0].Before != 6000 || *rows[0].BeforeRatio != 10 {
		t.Errorf("writes before = %v, want 6000 (ratio 10)", rows[0].Before)
	}
	if rows[1].Before == nil || *rows[1].Before != 700 || *rows[1].BeforeRatio != 2 {
		t.Errorf("explain before = %v, want 700 (ratio 2)", rows[1].Before)
	}
	if rows[2].Before != nil || rows[2].BeforeRatio != nil {
		t.Errorf("a row the other build lacks has before %v", *rows[2].Before)
	}
}
