package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"fairway"
	"fairway/bench"
	"fairway/sqlite"
)

// BenchmarkDepAdd adds a dependency under a task with a chain of
// ancestors: the cycle check is what grows with the graph. Each size is
// reported beside the others, run in the same process.
func BenchmarkDepAdd(b *testing.B) {
	for _, ancestors := range []int{10, 1000} {
		b.Run(fmt.Sprintf("ancestors-%d", ancestors), func(b *testing.B) {
			ctx := context.Background()
			l, s, as, _, err := bench.OpenLedger(ctx, b.TempDir(), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			// C-0 ← C-1 ← … : C-i depends on C-(i-1).
			err = s.Update(ctx, func(tx fairway.Tx) error {
				for i := 0; i <= ancestors; i++ {
					if err := tx.InsertTask(&fairway.Task{Key: fmt.Sprintf("C-%d", i), Title: "chain", Creator: "alice", Status: fairway.StatusOpen,
						Risk: fairway.RiskLow, CreatedAt: at, UpdatedAt: at}); err != nil {
						return err
					}
					if i > 0 {
						if err := tx.InsertDependency(fmt.Sprintf("C-%d", i), fmt.Sprintf("C-%d", i-1)); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				key := fmt.Sprintf("N-%d", i)
				if _, err := l.CreateTask(as, fairway.TaskCreate{Key: key, Title: "new"}); err != nil {
					b.Fatal(err)
				}
				// N-i waits on the chain's tip: the check walks from the tip
				// through every ancestor looking for N-i.
				if err := l.AddDependency(as, key, fmt.Sprintf("C-%d", ancestors)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
