package bench_test

import (
	"context"
	"testing"

	"fairway/bench"
)

// The reconcile fixture's sessions are confirmed alive (their process is
// this one), and all interrupted when reported gone.
func TestSessionFixture_Reconcile(t *testing.T) {
	fx, err := bench.NewSessionFixture(context.Background(), t.TempDir(), 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(fx.IDs) != 20 || len(fx.Tokens) != 20 {
		t.Fatalf("%d sessions", len(fx.IDs))
	}
	if _, _, n, err := fx.Reconcile(context.Background()); err != nil || n != 20 {
		t.Fatalf("reconcile interrupted %d: %v", n, err)
	}
}
