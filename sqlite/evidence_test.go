package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
	"fairway/sqlite"
)

func TestEvidence_ImmutableEvenToRawSQL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fairway.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs, _ := blob.NewFileStore(filepath.Join(dir, "blobs"))
	l := ledger.New(s, blobs)
	ctx := context.Background()
	if _, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: "human"}); err != nil {
		t.Fatal(err)
	}
	as := fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "alice"})
	if _, err := l.CreateTask(as, fairway.TaskCreate{Key: "IMM-1", Title: "t"}); err != nil {
		t.Fatal(err)
	}
	ev, err := l.AddEvidence(as, fairway.EvidenceAdd{Task: "IMM-1", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("x\n")})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, _ := sql.Open("sqlite", path)
	defer db.Close()
	for _, q := range []string{`UPDATE evidence SET digest = 'sha256:00' WHERE id = ?`, `DELETE FROM evidence WHERE id = ?`} {
		_, err := db.Exec(q, ev.ID)
		if err == nil || !strings.Contains(err.Error(), "evidence is immutable") {
			t.Errorf("%s: err = %v, want the immutability trigger", q, err)
		}
	}
}
