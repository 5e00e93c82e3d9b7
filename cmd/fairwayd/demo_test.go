package main

import (
	"context"
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
