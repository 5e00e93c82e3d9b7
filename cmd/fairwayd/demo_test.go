package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/ledger"
	"fairway/sqlite"
)

// The demo prints a sign-in token for each reviewer. A token another
// human issued counts, for independence, as that human's too (R2), so a
// reviewer's demo token must be their own: omar signing in with a token
// olivia issued could not approve what olivia may not.
func TestDemo_ReviewersSignInWithTokensOfTheirOwn(t *testing.T) {
	dir := demoDir(t)
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	l := ledger.New(store, nil)
	a := &app{ctx: context.Background()}
	listing, err := demoTokens(a, l)
	if err != nil {
		t.Fatal(err)
	}
	for _, human := range []string{"omar", "priya", "sergei"} {
		if !strings.Contains(listing, "  "+human+" ") {
			t.Fatalf("the listing names no token for %s:\n%s", human, listing)
		}
		tokens, err := l.ListTokens(fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: human}), human)
		if err != nil {
			t.Fatal(err)
		}
		if len(tokens) != 1 || tokens[0].IssuedBy != human {
			t.Fatalf("%s's tokens %+v, want one issued by %s", human, tokens, human)
		}
	}
}

// --out writes beside its path and renames once whole: the folder ends
// with the one file, complete, and a path in a missing folder is an
// error that creates nothing.
func TestOut_WritesTheWholeFileOrNothing(t *testing.T) {
	dir := demoDir(t)
	outDir := t.TempDir()
	path := filepath.Join(outDir, "audit.jsonl")
	if err := os.WriteFile(path, []byte("an older export\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runAs(dir, "olivia", "audit", "export", "--out", path); code != 0 {
		t.Fatalf("audit export: exit %d: %s", code, stderr)
	}
	entries, err := os.ReadDir(outDir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "audit.jsonl" {
		t.Fatalf("folder holds %v (%v), want audit.jsonl only", entries, err)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stdout, _, code := runAs(dir, "olivia", "audit", "export")
	if code != 0 || string(body) != stdout {
		t.Fatalf("the file (%d bytes) is not what standard output gets (%d bytes)", len(body), len(stdout))
	}
	missing := filepath.Join(outDir, "no-such-folder", "audit.jsonl")
	if _, stderr, code := runAs(dir, "olivia", "audit", "export", "--out", missing); code == 0 || !strings.Contains(stderr, "no-such-folder") {
		t.Fatalf("export into a missing folder: exit %d: %s", code, stderr)
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 1 {
		t.Fatalf("after the failed export the folder holds %v", entries)
	}
}
