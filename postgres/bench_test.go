package postgres_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fairway"
	"fairway/ledger"
	"fairway/postgres"
	"fairway/sqlite"
)

// writeRate creates n tasks through ledgers (clients share them round
// robin, as a load balancer would) and returns durable writes per second.
func writeRate(b *testing.B, ls []*ledger.Ledger, n, clients int) float64 {
	b.Helper()
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := ls[c%len(ls)]
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if _, err := l.CreateTask(as("alice"), fairway.TaskCreate{Key: fmt.Sprintf("B-%d", i), Title: "bench"}); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return float64(n) / elapsed.Seconds()
}

// BenchmarkDurableWrites compares ledger writes (each acknowledged only
// once committed) on PostgreSQL, through one, two and three replicas, against
// SQLite on one node, in the same run. The custom metrics are the result:
// writes per second of each and PostgreSQL's as a ratio of SQLite's.
func BenchmarkDurableWrites(b *testing.B) {
	testURL(b)
	for _, clients := range []int{1, 32} {
		for _, replicaCount := range []int{1, 2, 3} {
			b.Run(fmt.Sprintf("clients=%d/replicas=%d", clients, replicaCount), func(b *testing.B) {
				lite, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "f.db"), sqlite.Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { lite.Close() })
				liteLedger := ledger.New(lite, nil)
				schema := MustNewSchema(b)
				var pg []*ledger.Ledger
				for range replicaCount {
					pg = append(pg, ledger.New(MustOpenSchema(b, schema, postgres.Options{}), nil))
				}
				for _, l := range []*ledger.Ledger{liteLedger, pg[0]} {
					if _, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				liteRate := writeRate(b, []*ledger.Ledger{liteLedger}, b.N, clients)
				pgRate := writeRate(b, pg, b.N, clients)
				b.ReportMetric(liteRate, "sqlite-writes/s")
				b.ReportMetric(pgRate, "pg-writes/s")
				b.ReportMetric(pgRate/liteRate, "pg/sqlite")
			})
		}
	}
}
