package bench

import (
	"os/exec"
	"testing"
)

func TestProcessCosts_OneCostPerCommand(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	hello, err := HelloWorld(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	costs, err := ProcessCosts(3, [][]string{{hello}, {"true"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(costs) != 2 || costs[0].Wall <= 0 || costs[1].Wall <= 0 {
		t.Fatalf("costs: %+v", costs)
	}
	if _, err := ProcessCosts(1, [][]string{{"false"}}, nil); err == nil {
		t.Fatal("a failing command gave no error")
	}
}
