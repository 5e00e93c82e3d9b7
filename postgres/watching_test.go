package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/postgres"

	"github.com/jackc/pgx/v5"
)

// The watch migration fills watch_repo for tasks written before it
// exactly as the store fills it on each write, and a CI event's query
// can read the partial index of open watching tasks.
func TestWatchMigration_BackfillMatchesTheStoreAndTheIndexServes(t *testing.T) {
	testURL(t)
	t.Parallel()
	schema := MustNewSchema(t)
	s := MustOpenSchema(t, schema, postgres.Options{})
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	// Label sets that WatchOf reads in every way it can: a monitor or
	// not, no repository, two of them (the last counts), an upper-case
	// prefix that is not one.
	labels := [][]string{
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
	err := s.Update(ctx, func(tx fairway.Tx) error {
		for i, l := range labels {
			task := &fairway.Task{Key: "W-" + string(rune('A'+i)), Title: "t", Creator: "alice", Status: fairway.StatusOpen, Risk: fairway.RiskLow, Labels: l, CreatedAt: at, UpdatedAt: at}
			if err := tx.InsertTask(task); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	migration, err := os.ReadFile(filepath.Join("migrations", "0017_watching.sql"))
	if err != nil {
		t.Fatal(err)
	}
	m := string(migration)
	backfill := m[strings.Index(m, "UPDATE tasks"):strings.Index(m, "CREATE INDEX")]

	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `SET search_path TO `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	watches := func() string {
		var s string
		if err := conn.QueryRow(ctx, `SELECT string_agg(key || '=' || watch_repo, ' ' ORDER BY key) FROM tasks`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	written := watches()
	if want := "W-A=acme/gpuaas W-B=acme/gpuaas W-C= W-D= W-E=acme/new W-F= W-G= W-H= W-I="; written != want {
		t.Fatalf("the store wrote %s, want %s", written, want)
	}
	if _, err := conn.Exec(ctx, `UPDATE tasks SET watch_repo = ''; `+backfill); err != nil {
		t.Fatal(err)
	}
	if rebuilt := watches(); rebuilt != written {
		t.Fatalf("the backfill wrote %s, the store %s", rebuilt, written)
	}

	// A table this small is scanned whatever its indexes; with scans
	// priced out, the planner shows the index it can use.
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	rows, err := conn.Query(ctx, `EXPLAIN SELECT key FROM tasks WHERE watch_repo = $1 AND watch_repo <> '' AND status NOT IN ('done', 'cancelled') ORDER BY key`, "acme/gpuaas")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.String(), "tasks_watching") {
		t.Fatalf("the watching query does not use tasks_watching:\n%s", plan.String())
	}
}
