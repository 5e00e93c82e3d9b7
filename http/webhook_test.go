package http_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"fairway"
	"fairway/demo"
	fairwayhttp "fairway/http"
)

// TestAPI_GitHubWebhook: the webhook route needs no bearer token — the
// signature is the credential — answers a good delivery 200 with what it
// settled, a bad signature 401, and a replay as a duplicate; the Client
// posts the same headers GitHub does.
func TestAPI_GitHubWebhook(t *testing.T) {
	e := newAPIEnv(t)
	alice := fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "alice"})
	if _, err := e.l.BootstrapPolicy(alice, "governance.yaml", demo.Policy); err != nil {
		t.Fatal(err)
	}
	if _, err := e.l.CreateActor(alice, fairway.ActorCreate{Name: "ci", Kind: fairway.KindService}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.l.CreateTask(alice, fairway.TaskCreate{Key: "OPS-CI-MONITOR-001", Title: "watch CI", Labels: []string{"monitor", "repo/acme/gpuaas", "run/42"}}); err != nil {
		t.Fatal(err)
	}
	e.l.Getenv = func(k string) string { return map[string]string{"FAIRWAY_GITHUB_WEBHOOK_SECRET": "hook-secret"}[k] }
	body := `{"action":"completed","workflow_run":{"id":42,"name":"CI","path":".github/workflows/ci.yml","head_sha":"0123abcd0123abcd","status":"completed","conclusion":"success"},"repository":{"full_name":"acme/gpuaas"}}`
	sign := func(secret string) string {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	post := func(delivery, sig string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/webhooks/github", strings.NewReader(body))
		req.Header.Set("X-GitHub-Event", "workflow_run")
		req.Header.Set("X-GitHub-Delivery", delivery)
		req.Header.Set("X-Hub-Signature-256", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if status, m := post("d-1", sign("wrong")); status != http.StatusUnauthorized || m["error"].(map[string]any)["code"] != fairway.EUNAUTHORIZED {
		t.Fatalf("bad signature: %d %v", status, m)
	}
	status, m := post("d-1", sign("hook-secret"))
	tasks, _ := m["tasks"].([]any)
	if status != http.StatusOK || len(tasks) != 1 || tasks[0].(map[string]any)["task"] != "OPS-CI-MONITOR-001" || tasks[0].(map[string]any)["status"] != "in_review" {
		t.Fatalf("good delivery: %d %v", status, m)
	}
	c := fairwayhttp.NewClient(e.srv.URL, "")
	res, err := c.ReceiveWebhook(context.Background(), fairway.WebhookDelivery{Source: "github", Event: "workflow_run", Delivery: "d-1", Signature: sign("hook-secret"), Body: []byte(body)})
	if err != nil || !res.Duplicate {
		t.Fatalf("replay through the client: %+v %v", res, err)
	}
}
