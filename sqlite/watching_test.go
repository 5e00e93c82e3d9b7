package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/sqlite"
)

// watchLabels are label sets that WatchOf reads in every way it can:
// a monitor or not, no repository, two of them (the last counts), an
// upper-case prefix that is not one.
var watchLabels = [][]string{
	{"monitor", "repo/acme/gpuaas", "run/42"},
	{"repo/acme/gpuaas", "monitor"},
	{"repo/acme/gpuaas"},
	{"monitor"},
	{"monitor", "repo/acme/old", "workflow/ci.yml", "repo/acme/new"},
	{"monitor", "REPO/acme/upper"},
	{"Monitor", "repo/acme/gpuaas"},
	{"monitor", "repo/"},
	nil,
}

// The watch migration fills watch_repo for tasks written before it
// exactly as the store fills it on each write.
func TestWatchMigration_BackfillMatchesTheStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fairway.db")
	store, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	err = store.Update(context.Background(), func(tx fairway.Tx) error {
		for i, labels := range watchLabels {
			task := &fairway.Task{Key: "W-" + string(rune('A'+i)), Title: "t", Creator: "alice", Status: fairway.StatusOpen, Risk: fairway.RiskLow, Labels: labels, CreatedAt: at, UpdatedAt: at}
			if err := tx.InsertTask(task); err != nil {
				return err
			}
		}
		return nil
	})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	migration, err := os.ReadFile(filepath.Join("migrations", "0017_watching.sql"))
	if err != nil {
		t.Fatal(err)
	}
	m := string(migration)
	backfill := m[strings.Index(m, "UPDATE tasks"):strings.Index(m, "CREATE INDEX")]

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	watches := func() string {
		rows, err := db.Query(`SELECT key || '=' || watch_repo FROM tasks ORDER BY key`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return strings.Join(out, " ")
	}
	written := watches()
	if want := "W-A=acme/gpuaas W-B=acme/gpuaas W-C= W-D= W-E=acme/new W-F= W-G= W-H= W-I="; written != want {
		t.Fatalf("the store wrote %s, want %s", written, want)
	}
	if _, err := db.Exec(`UPDATE tasks SET watch_repo = ''; ` + backfill); err != nil {
		t.Fatal(err)
	}
	if rebuilt := watches(); rebuilt != written {
		t.Fatalf("the backfill wrote %s, the store %s", rebuilt, written)
	}
}

// BenchmarkWatchingTasks compares finding the tasks that watch a
// repository through the index with reading every task and keeping the
// watching ones (what a webhook delivery did before), in ledgers of
// growing size holding the same 5 open watching tasks (and more done
// ones).
func BenchmarkWatchingTasks(b *testing.B) {
	for _, n := range []int{1000, 10000, 50000} {
		store, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "fairway.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
		err = store.Update(context.Background(), func(tx fairway.Tx) error {
			for i := range n {
				// Every 200th task watches acme/r7; the first 5 of them
				// are open, the rest done, as monitors of past runs are.
				task := &fairway.Task{Key: fmt.Sprintf("B-%06d", i), Title: "t", Creator: "alice", Status: fairway.StatusOpen, Risk: fairway.RiskLow,
					Labels: []string{"kind", "uat"}, CreatedAt: at, UpdatedAt: at}
				if i%200 == 7 {
					task.Labels = []string{"monitor", "repo/acme/r7"}
					if i > 1000 {
						task.Status = fairway.StatusDone
					}
				}
				if err := tx.InsertTask(task); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		run := func(name string, find func(tx fairway.Tx) (int, error)) {
			b.Run(fmt.Sprintf("%s/tasks=%d", name, n), func(b *testing.B) {
				found := 0
				for b.Loop() {
					if err := store.View(context.Background(), func(tx fairway.Tx) (err error) { found, err = find(tx); return err }); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(found), "found")
			})
		}
		run("every-task", func(tx fairway.Tx) (int, error) {
			tasks, err := tx.Tasks(fairway.TaskFilter{})
			found := 0
			for _, t := range tasks {
				if w, ok := fairway.WatchOf(t); ok && w.Repo == "acme/r7" && !fairway.IsTerminal(t.Status) {
					found++
				}
			}
			return found, err
		})
		run("index", func(tx fairway.Tx) (int, error) {
			tasks, err := tx.WatchingTasks("acme/r7")
			return len(tasks), err
		})
		store.Close()
	}
}
