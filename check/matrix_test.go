package check_test

import (
	"encoding/json"
	"testing"

	"fairway/check"
)

func TestAcross_LatestPerAreaAndEnvironmentWithBlockers(t *testing.T) {
	rec := []check.Recorded{
		{Evidence: "EV-M1", Matrix: check.Matrix{Suite: "smoke", Task: "T-1", Environment: "kind-local", Items: []check.Item{
			{Item: "auth/session", State: check.Proven, Proven: []string{"EV-1"}},
			{Item: "terminal", State: check.Blocked, Blockers: []string{"prerequisite cap"}},
		}}},
		{Evidence: "EV-M2", Matrix: check.Matrix{Suite: "smoke", Task: "T-2", Environment: "dev", Items: []check.Item{
			{Item: "auth/session", State: check.Failing, Failing: []string{"EV-2"}},
		}}},
		// A newer blocked run in kind-local keeps the older proof.
		{Evidence: "EV-M3", Matrix: check.Matrix{Suite: "uat", Task: "T-1", Environment: "kind-local", Items: []check.Item{
			{Item: "auth/session", State: check.Blocked, Blockers: []string{"prerequisite cap"}},
			{Item: "billing", State: check.Proven, Proven: []string{"EV-3"}},
		}}},
	}
	got := check.Across(rec, []string{"kind-local", "dev", "production"}, map[string][]string{"kind-local": {"prerequisite cap"}, "dev": {"prerequisite cap"}})
	b, _ := json.Marshal(got)
	want := `{"environments":["kind-local","dev","production"],"areas":[` +
		`{"area":"auth/session","cells":{"dev":{"state":"failing","evidence":["EV-2"],"task":"T-2","suite":"smoke","matrix":"EV-M2"},"kind-local":{"state":"proven","evidence":["EV-1"],"task":"T-1","suite":"smoke","matrix":"EV-M1"},"production":{"state":"not-covered"}}},` +
		`{"area":"terminal","cells":{"dev":{"state":"not-covered","blockers":["prerequisite cap"]},"kind-local":{"state":"blocked","task":"T-1","suite":"smoke","matrix":"EV-M1","blockers":["prerequisite cap"]},"production":{"state":"not-covered"}}},` +
		`{"area":"billing","cells":{"dev":{"state":"not-covered","blockers":["prerequisite cap"]},"kind-local":{"state":"proven","evidence":["EV-3"],"task":"T-1","suite":"uat","matrix":"EV-M3"},"production":{"state":"not-covered"}}}]}`
	if string(b) != want {
		t.Fatalf("matrix =\n%s\nwant\n%s", b, want)
	}
	// Once the blocker is lifted, the blocked area is simply not run yet.
	lifted := check.Across(rec, []string{"kind-local"}, nil)
	if c := lifted.Areas[1].Cells["kind-local"]; c.State != check.NotCovered || c.Blockers != nil {
		t.Fatalf("lifted terminal = %+v", c)
	}
}
