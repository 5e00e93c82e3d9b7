package demo_test

import (
	"testing"

	"fairway/check"
	"fairway/demo"
)

func TestUATSuite_Loads(t *testing.T) {
	s, err := check.Load("kind-uat.yaml", demo.UATSuite)
	if err != nil {
		t.Fatal(err)
	}
	mutating := 0
	for _, c := range s.Checks {
		if c.Mutating {
			mutating++
		}
	}
	if len(s.Coverage) != 6 || len(s.Checks) != 6 || mutating != 1 {
		t.Fatalf("suite = %d areas, %d checks, %d mutating", len(s.Coverage), len(s.Checks), mutating)
	}
}
