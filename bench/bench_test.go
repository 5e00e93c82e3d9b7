package bench_test

import (
	"context"
	"testing"

	"fairway"
	"fairway/bench"
	"fairway/sqlite"
)

// BenchmarkAPIWrites reports durable writes per second through the HTTP
// API from 32 clients, with group commit and with one fsync per write; the
// ratio of the two is the point.
func BenchmarkAPIWrites(b *testing.B) {
	for _, c := range []struct {
		name string
		opts sqlite.Options
	}{{"group-commit", sqlite.Options{}}, {"fsync-each", sqlite.Options{MaxBatch: 1}}} {
		b.Run(c.name, func(b *testing.B) {
			rate, err := bench.APIWrites(context.Background(), b.TempDir(), c.opts, 32, b.N)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(rate, "writes/s")
		})
	}
}

// BenchmarkAPINoop is the limit BenchmarkAPIWrites is judged against: the
// same clients and server making an authenticated request that writes
// nothing.
func BenchmarkAPINoop(b *testing.B) {
	rate, err := bench.APINoop(context.Background(), b.TempDir(), sqlite.Options{}, 32, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "requests/s")
}

// BenchmarkLedgerWrites is BenchmarkAPIWrites without HTTP.
func BenchmarkLedgerWrites(b *testing.B) {
	for _, c := range []struct {
		name string
		opts sqlite.Options
	}{{"group-commit", sqlite.Options{}}, {"fsync-each", sqlite.Options{MaxBatch: 1}}} {
		b.Run(c.name, func(b *testing.B) {
			rate, err := bench.LedgerWrites(context.Background(), b.TempDir(), c.opts, 32, b.N)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(rate, "writes/s")
		})
	}
}

// BenchmarkNext measures next over 100,000 tasks and 300,000 edges.
func BenchmarkNext(b *testing.B) {
	ctx := context.Background()
	l, s, _, _, err := bench.OpenLedger(ctx, b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := bench.Graph(ctx, s, 100000, 300000, 1); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.Next(ctx, fairway.NextFilter{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGate evaluates the gate of a task with 1,000 evidence items,
// 50 reviews and 20 prerequisites, beside one durable write.
func BenchmarkGate(b *testing.B) {
	ctx := context.Background()
	fx, err := bench.NewGateFixture(ctx, b.TempDir(), 1000, 50, 20)
	if err != nil {
		b.Fatal(err)
	}
	defer fx.Store.Close()
	b.Run("explain", func(b *testing.B) {
		for b.Loop() {
			if _, err := fx.Explain(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("durable-write", func(b *testing.B) {
		for b.Loop() {
			if err := fx.Write(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestGateFixture_Passes(t *testing.T) {
	ctx := context.Background()
	fx, err := bench.NewGateFixture(ctx, t.TempDir(), 40, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer fx.Store.Close()
	d, err := fx.Explain(ctx)
	if err != nil || !d.Pass {
		t.Fatalf("gate = %+v %v", d, err)
	}
	if n := len(d.Requirements); n != 5 {
		t.Fatalf("%d requirements, want dependencies, review:platform and 3 prerequisites", n)
	}
}

// The MCP overhead measurement runs and records its claims.
func TestMCPOverhead_Runs(t *testing.T) {
	got, err := bench.MCPOverhead(context.Background(), t.TempDir(), 5)
	if err != nil || got.MCP <= 0 || got.Direct <= 0 {
		t.Fatalf("MCPOverhead = %+v, %v", got, err)
	}
}
