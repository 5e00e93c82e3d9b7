package http_test

import (
	"context"
	"testing"

	"fairway"
	"fairway/demo"
)

// TestAPI_DeployRuns: the deploy routes answer with the ledger's rules
// and codes: created, listed, a passed stage without evidence refused
// naming the field, an agent's no-rollback decision forbidden, the plan
// served.
func TestAPI_DeployRuns(t *testing.T) {
	e := newAPIEnv(t)
	alice := fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "alice"})
	if _, err := e.l.BootstrapPolicy(alice, "governance.yaml", demo.Policy); err != nil {
		t.Fatal(err)
	}
	if _, err := e.l.CreateTask(alice, fairway.TaskCreate{Key: "OPS-DEPLOY-001", Title: "ship"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path, token, body string
		status                    int
		check                     func(map[string]any) bool
	}{
		{"POST", "/api/v1/deploys", e.agent, `{"task":"OPS-DEPLOY-001","environment":"dev","commit":"0123abcd"}`, 201,
			func(m map[string]any) bool {
				return m["id"] == float64(1) && m["state"] == "running" && m["started_by"] == "codex"
			}},
		{"POST", "/api/v1/deploys", e.agent, `{"task":"OPS-DEPLOY-001","environment":"qa","commit":"0123abcd"}`, 400,
			func(m map[string]any) bool { return m["error"].(map[string]any)["field"] == "environment" }},
		{"GET", "/api/v1/deploys/1", e.agent, "", 200, func(m map[string]any) bool { return len(m["stages"].([]any)) == 6 }},
		{"GET", "/api/v1/deploys/7", e.agent, "", 404, nil},
		{"POST", "/api/v1/deploys/1/stages/ci", e.agent, `{"status":"passed"}`, 400, func(m map[string]any) bool { return m["error"].(map[string]any)["field"] == "evidence" }},
		{"POST", "/api/v1/deploys/1/stages/ci", e.agent, `{"status":"running"}`, 200, func(m map[string]any) bool {
			return m["stages"].([]any)[0].(map[string]any)["status"] == "running"
		}},
		{"POST", "/api/v1/deploys/1/stages/canary", e.agent, `{"status":"running"}`, 400, func(m map[string]any) bool { return m["error"].(map[string]any)["field"] == "stage" }},
		{"POST", "/api/v1/deploys/1/no-rollback", e.agent, `{"reason":"fine"}`, 403, nil},
		{"GET", "/api/v1/plan", e.agent, "", 200, func(m map[string]any) bool { return m["policy_digest"] != "" && m["safe"] != nil }},
	}
	for _, c := range cases {
		status, body := e.do(t, c.method, c.path, c.token, c.body)
		if status != c.status || c.check != nil && !c.check(body) {
			t.Errorf("%s %s: %d %v, want %d", c.method, c.path, status, body, c.status)
		}
	}
	runs, err := e.l.ListDeployRuns(context.Background(), fairway.DeployFilter{Task: "OPS-DEPLOY-001"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs = %v, %v", runs, err)
	}
}
