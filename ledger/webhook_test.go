package ledger_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/demo"
	"fairway/ledger"
)

// githubSignature is X-Hub-Signature-256 as GitHub computes it.
func githubSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// payload reads a testdata payload without its comment lines.
func payload(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/webhooks/" + name + ".txt")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for line := range strings.Lines(string(data)) {
		if !strings.HasPrefix(line, "#") {
			out.WriteString(line)
		}
	}
	return out.Bytes()
}

func webhookLedger(t *testing.T) (*ledger.Ledger, time.Time) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return now }
	l.Getenv = func(k string) string {
		return map[string]string{"FAIRWAY_GITHUB_WEBHOOK_SECRET": "It's a Secret to Everybody", "FAIRWAY_CI_WEBHOOK_SECRET": "generic-s3cret"}[k]
	}
	return l, now
}

// TestWebhook_GitHubSignatureAsDocumented: the signature GitHub's own
// documentation gives for its example secret and body is accepted, and
// one byte off is refused (401) and audited as a refusal, changing
// nothing else. The example is from
// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
func TestWebhook_GitHubSignatureAsDocumented(t *testing.T) {
	l, _ := webhookLedger(t)
	ctx := as("codex") // whoever delivers; the signature is the credential
	body := []byte("Hello, World!")
	d := fairway.WebhookDelivery{Source: "github", Event: "ping", Delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958", Body: body,
		Signature: "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}
	res, err := l.ReceiveWebhook(ctx, d)
	if err != nil || res.Ignored != "ping: the webhook is set up" {
		t.Fatalf("documented signature: %+v %v", res, err)
	}
	before := auditLen(t, l)
	for _, bad := range []fairway.WebhookDelivery{
		{Source: "github", Event: "ping", Delivery: "d-2", Body: []byte("Hello, World?"), Signature: d.Signature},
		{Source: "github", Event: "ping", Delivery: "d-3", Body: body, Signature: strings.TrimPrefix(d.Signature, "sha256=")},
		{Source: "github", Event: "ping", Delivery: "d-4", Body: body, Signature: githubSignature("guess", body)},
	} {
		_, err := l.ReceiveWebhook(ctx, bad)
		if fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "delivery "+bad.Delivery+" is refused") {
			t.Errorf("%s: %v, want unauthorized", bad.Delivery, err)
		}
	}
	events := must(l.AuditLog(context.Background(), fairway.AuditFilter{AfterSeq: int64(before)}))
	if len(events) != 3 {
		t.Fatalf("%d events after the bad deliveries, want their 3 refusals", len(events))
	}
	for _, e := range events {
		if e.Action != "webhook.receive.refused" || e.Actor != "ci" || !strings.HasPrefix(e.Subject, "webhook:github:d-") || strings.Contains(string(e.Change), "Secret") {
			t.Errorf("refusal event = %s %s %s %s", e.Action, e.Actor, e.Subject, e.Change)
		}
	}
}

// TestWebhook_TerminalRunsSettleTheirMonitorTasks walks GitHub payloads
// shaped as documented: a run that has not ended settles nothing; a
// success is recorded on the monitor task watching that workflow and
// commit and moves it to review; a failure is recorded on the task
// watching that run id, moves it to review and opens a follow-up; a check
// suite settles the task watching its commit; a replayed delivery id is a
// no-op; a task watching another repository is never touched.
func TestWebhook_TerminalRunsSettleTheirMonitorTasks(t *testing.T) {
	l, now := webhookLedger(t)
	alice := as("alice")
	for _, c := range []fairway.TaskCreate{
		{Key: "OPS-CI-MONITOR-001", Title: "main CI on the release commit", Labels: []string{"monitor", "repo/acme/gpuaas", "workflow/ci.yml", "sha/5c1f0e2d9a8b"}},
		{Key: "OPS-CI-MONITOR-002", Title: "the rerun", Labels: []string{"monitor", "repo/acme/gpuaas", "run/9120455999"}},
		{Key: "OPS-CI-MONITOR-003", Title: "release checks", Labels: []string{"monitor", "repo/acme/gpuaas", "workflow/github-actions", "sha/a7d3e9f10b2c"}},
		{Key: "OPS-CI-MONITOR-004", Title: "another repository", Labels: []string{"monitor", "repo/acme/portal"}},
		{Key: "OPS-CI-PLAIN-001", Title: "labelled like a watch but not a monitor", Labels: []string{"repo/acme/gpuaas"}},
	} {
		must(l.CreateTask(alice, c))
	}
	deliver := func(event, name, id string) (*fairway.WebhookResult, error) {
		body := payload(t, name)
		return l.ReceiveWebhook(as("omar"), fairway.WebhookDelivery{Source: "github", Event: event, Delivery: id, Body: body,
			Signature: githubSignature("It's a Secret to Everybody", body)})
	}
	res, err := deliver("workflow_run", "workflow_run.requested", "d-req")
	if err != nil || len(res.Tasks) != 0 || res.Ignored != "workflow run 9120455731 is queued (action requested), not completed" {
		t.Fatalf("requested: %+v %v", res, err)
	}
	type touch struct{ task, status, followUp string }
	got := func(res *fairway.WebhookResult) []touch {
		var out []touch
		for _, w := range res.Tasks {
			fu := ""
			if w.FollowUp != "" {
				fu = "follow-up"
			}
			out = append(out, touch{w.Task, w.Status, fu})
		}
		return out
	}
	cases := []struct {
		event, name, id string
		want            []touch
		conclusion, url string
	}{
		{"workflow_run", "workflow_run.completed.success", "d-ok", []touch{{"OPS-CI-MONITOR-001", "in_review", ""}}, "success",
			"https://github.com/Acme/gpuaas/actions/runs/9120455731"},
		{"workflow_run", "workflow_run.completed.failure", "d-fail", []touch{{"OPS-CI-MONITOR-002", "in_review", "follow-up"}}, "failure",
			"https://github.com/Acme/gpuaas/actions/runs/9120455999"},
		{"check_suite", "check_suite.completed.failure", "d-suite", []touch{{"OPS-CI-MONITOR-003", "in_review", "follow-up"}}, "failure",
			"https://api.github.com/repos/Acme/gpuaas/check-suites/27712093311"},
	}
	var failedRunEvidence string
	for _, c := range cases {
		res, err := deliver(c.event, c.name, c.id)
		if err != nil || fmt.Sprint(got(res)) != fmt.Sprint(c.want) || res.Run.Conclusion != c.conclusion || res.Run.Repo != "acme/gpuaas" {
			t.Fatalf("%s: %+v %v, want %v", c.name, res, err, c.want)
		}
		w := res.Tasks[0]
		if c.id == "d-fail" {
			failedRunEvidence = w.Evidence
		}
		ev := must(l.GetEvidence(context.Background(), w.Evidence))
		if ev.Task != w.Task || ev.Kind != fairway.EvidenceCITerminal || ev.RecordedBy != "ci" || !strings.Contains(ev.Note, "concluded "+c.conclusion+"; github webhook delivery "+c.id) {
			t.Fatalf("%s evidence = %+v", c.name, ev)
		}
		// The record links the run: its URL is kept, not taken for a
		// secret.
		r := must(l.OpenEvidence(context.Background(), w.Evidence, fairway.PartContent))
		var record map[string]string
		err = json.NewDecoder(r).Decode(&record)
		r.Close()
		if err != nil || record["url"] != c.url || record["run"] != res.Run.Run {
			t.Fatalf("%s record = %v %v, want url %s", c.name, record, err, c.url)
		}
		if w.FollowUp != "" {
			fu := must(l.GetTask(context.Background(), w.FollowUp))
			if !strings.Contains(fu.Title, "concluded failure") || !strings.Contains(fu.Scope.Text, "Watched by "+w.Task+"; terminal evidence "+w.Evidence) {
				t.Fatalf("follow-up = %+v", fu)
			}
		}
	}
	// A run that failed satisfies its monitor (it ended) but is never shown
	// as fine: it is failing latest evidence, which a closer acknowledges.
	failed := must(l.ExplainGate(context.Background(), "OPS-CI-MONITOR-002"))
	for _, r := range failed.Requirements {
		if r.ID == "evidence:ci-terminal" && (r.State != fairway.ReqSatisfied || !strings.Contains(r.Detail, "the watched run concluded failure")) {
			t.Fatalf("ci-terminal requirement of the failed run = %+v", r)
		}
	}
	if f := failed.Failing(); len(f) != 1 || f[0] != failedRunEvidence {
		t.Fatalf("failing latest evidence = %v, want the failed run's record %s", f, failedRunEvidence)
	}
	ok := must(l.ExplainGate(context.Background(), "OPS-CI-MONITOR-001"))
	if f := ok.Failing(); len(f) != 0 {
		t.Fatalf("a successful run shows failing evidence %v", f)
	}
	// The gate of the settled monitor no longer waits for terminal evidence.
	d := must(l.ExplainGate(context.Background(), "OPS-CI-MONITOR-001"))
	for _, r := range d.Requirements {
		if r.ID == "evidence:ci-terminal" && r.State != fairway.ReqSatisfied {
			t.Fatalf("ci-terminal requirement = %+v", r)
		}
	}
	// A replay is a no-op.
	before := must(l.ListEvidence(context.Background(), fairway.EvidenceFilter{}))
	res, err = deliver("workflow_run", "workflow_run.completed.success", "d-ok")
	if err != nil || !res.Duplicate || len(res.Tasks) != 0 {
		t.Fatalf("replay: %+v %v", res, err)
	}
	if after := must(l.ListEvidence(context.Background(), fairway.EvidenceFilter{})); len(after) != len(before) {
		t.Fatalf("a replay recorded evidence: %d → %d", len(before), len(after))
	}
	for _, key := range []string{"OPS-CI-MONITOR-004", "OPS-CI-PLAIN-001"} {
		if tk := must(l.GetTask(context.Background(), key)); tk.Status != fairway.StatusOpen {
			t.Errorf("%s is %s", key, tk.Status)
		}
	}
	// The generic endpoint: signed over the timestamp and the body; a
	// timestamp outside the skew is refused.
	body := []byte(`{"provider":"buildkite","repo":"acme/portal","workflow":"deploy","run":"77","status":"completed","conclusion":"success","commit":"0123abcd"}`)
	generic := func(ts time.Time, id string) (*fairway.WebhookResult, error) {
		stamp := strconv.FormatInt(ts.Unix(), 10)
		mac := hmac.New(sha256.New, []byte("generic-s3cret"))
		mac.Write([]byte(stamp + "."))
		mac.Write(body)
		return l.ReceiveWebhook(as("codex"), fairway.WebhookDelivery{Source: "generic", Delivery: id, Timestamp: stamp, Body: body, Signature: "sha256=" + hex.EncodeToString(mac.Sum(nil))})
	}
	if _, err := generic(now.Add(-6*time.Minute), "bk-1"); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "more than 5m0s from the server's clock") {
		t.Fatalf("stale generic delivery: %v", err)
	}
	res, err = generic(now.Add(-time.Minute), "bk-2")
	if err != nil || fmt.Sprint(got(res)) != "[{OPS-CI-MONITOR-004 in_review }]" {
		t.Fatalf("generic: %+v %v", res, err)
	}
	// Without the secret in the server's environment nothing is trusted.
	l.Getenv = func(string) string { return "" }
	if _, err := deliver("workflow_run", "workflow_run.completed.success", "d-new"); fairway.ErrorCode(err) != fairway.ECONFLICT || !strings.Contains(err.Error(), "$FAIRWAY_GITHUB_WEBHOOK_SECRET") {
		t.Fatalf("no secret: %v", err)
	}
}

// The same delivery arriving several times at once (CI redelivering on a
// timeout) is applied once: one terminal record, one follow-up.
func TestWebhook_ConcurrentRedeliveriesApplyOnce(t *testing.T) {
	l, _ := webhookLedger(t)
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-CI-MONITOR-002", Title: "the rerun", Labels: []string{"monitor", "repo/acme/gpuaas", "run/9120455999"}}))
	body := payload(t, "workflow_run.completed.failure")
	const n = 8
	results := make(chan *fairway.WebhookResult, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			res, err := l.ReceiveWebhook(as("omar"), fairway.WebhookDelivery{Source: "github", Event: "workflow_run", Delivery: "d-same", Body: body,
				Signature: githubSignature("It's a Secret to Everybody", body)})
			results <- res
			errs <- err
		}()
	}
	applied := 0
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if res := <-results; !res.Duplicate {
			applied++
		}
	}
	if applied != 1 {
		t.Fatalf("%d of %d identical deliveries were applied, want 1", applied, n)
	}
	ev := must(l.ListEvidence(context.Background(), fairway.EvidenceFilter{Task: "OPS-CI-MONITOR-002"}))
	followUps := 0
	for _, tk := range must(l.ListTasks(context.Background(), fairway.TaskFilter{})) {
		if strings.HasPrefix(tk.Title, "Follow-up: ") {
			followUps++
		}
	}
	if len(ev) != 1 || followUps != 1 {
		t.Fatalf("%d terminal records and %d follow-ups, want one each", len(ev), followUps)
	}
}

// A policy whose webhook names a human (or an agent) records nothing: the
// actor's kind is checked before any evidence, move or follow-up is
// written in its name, not after.
func TestWebhook_NonServiceActorWritesNothing(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, false)
	must(l.BootstrapPolicy(as("alice"), "governance.yaml", bytes.Replace(demo.Policy, []byte("actor: ci"), []byte("actor: omar"), 1)))
	l.Getenv = func(k string) string {
		return map[string]string{"FAIRWAY_GITHUB_WEBHOOK_SECRET": "It's a Secret to Everybody"}[k]
	}
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-CI-MONITOR-002", Title: "the rerun", Labels: []string{"monitor", "repo/acme/gpuaas", "run/9120455999"}}))
	tasksBefore := len(must(l.ListTasks(context.Background(), fairway.TaskFilter{})))
	body := payload(t, "workflow_run.completed.failure")
	_, err := l.ReceiveWebhook(as("codex"), fairway.WebhookDelivery{Source: "github", Event: "workflow_run", Delivery: "d-human", Body: body,
		Signature: githubSignature("It's a Secret to Everybody", body)})
	if fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "webhook actor omar is a human") {
		t.Fatalf("human webhook actor: %v, want forbidden", err)
	}
	if ev := must(l.ListEvidence(context.Background(), fairway.EvidenceFilter{Task: "OPS-CI-MONITOR-002"})); len(ev) != 0 {
		t.Errorf("evidence recorded in a human's name: %+v", ev[0])
	}
	if tk := must(l.GetTask(context.Background(), "OPS-CI-MONITOR-002")); tk.Status != fairway.StatusOpen {
		t.Errorf("the monitor task moved to %s", tk.Status)
	}
	if n := len(must(l.ListTasks(context.Background(), fairway.TaskFilter{}))); n != tasksBefore {
		t.Errorf("%d tasks after the refusal, want %d: a follow-up was opened", n, tasksBefore)
	}
}

// GitHub signs the body only, not X-GitHub-Delivery (nor does the
// generic source sign X-Fairway-Delivery): a captured delivery replayed
// under a new delivery id carries a valid signature. The same signed body
// is one event, whatever id it arrives under: no second record, no
// second follow-up, and no settling a monitor task created since.
func TestWebhook_ReplayUnderANewDeliveryIDIsADuplicate(t *testing.T) {
	l, _ := webhookLedger(t)
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-CI-MONITOR-002", Title: "the rerun", Labels: []string{"monitor", "repo/acme/gpuaas", "run/9120455999"}}))
	body := payload(t, "workflow_run.completed.failure")
	deliver := func(id string) (*fairway.WebhookResult, error) {
		return l.ReceiveWebhook(as("omar"), fairway.WebhookDelivery{Source: "github", Event: "workflow_run", Delivery: id, Body: body,
			Signature: githubSignature("It's a Secret to Everybody", body)})
	}
	if res, err := deliver("d-original"); err != nil || len(res.Tasks) != 1 {
		t.Fatalf("original: %+v %v", res, err)
	}
	// A monitor task created after the run ended, watching the repository.
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-CI-MONITOR-009", Title: "next release", Labels: []string{"monitor", "repo/acme/gpuaas"}}))
	res, err := deliver("d-forged-new-id")
	if err != nil || !res.Duplicate || len(res.Tasks) != 0 {
		t.Fatalf("replay under a new id: %+v %v, want a duplicate", res, err)
	}
	if ev := must(l.ListEvidence(context.Background(), fairway.EvidenceFilter{Task: "OPS-CI-MONITOR-002"})); len(ev) != 1 {
		t.Errorf("%d terminal records on the watched task, want 1", len(ev))
	}
	if tk := must(l.GetTask(context.Background(), "OPS-CI-MONITOR-009")); tk.Status != fairway.StatusOpen {
		t.Errorf("a replayed old run settled a new monitor task: %s", tk.Status)
	}
}

// A monitor task the ledger will not move (a mutating task of a protected
// change class cannot start without its approvals, R5) does not make the
// delivery fail halfway: the other tasks watching the run are settled
// once, the refused task keeps its status with the terminal record on it,
// and the delivery is received, so a redelivery is a no-op instead of
// recording the run and opening follow-ups again on the tasks settled
// before the refusal.
func TestWebhook_ATaskThatCannotMoveDoesNotFailTheDelivery(t *testing.T) {
	l, _ := webhookLedger(t)
	alice := as("alice")
	must(l.CreateTask(alice, fairway.TaskCreate{Key: "OPS-CI-MONITOR-002", Title: "the rerun", Labels: []string{"monitor", "repo/acme/gpuaas", "run/9120455999"}}))
	must(l.CreateTask(alice, fairway.TaskCreate{Key: "OPS-CI-MONITOR-003", Title: "edge change watching the same run", Mutating: true,
		Scope: fairway.Scope{ChangeClasses: []string{"edge-dns"}}, Labels: []string{"monitor", "repo/acme/gpuaas", "run/9120455999"}}))
	body := payload(t, "workflow_run.completed.failure")
	deliver := func(id string) (*fairway.WebhookResult, error) {
		return l.ReceiveWebhook(as("omar"), fairway.WebhookDelivery{Source: "github", Event: "workflow_run", Delivery: id, Body: body,
			Signature: githubSignature("It's a Secret to Everybody", body)})
	}
	res, err := deliver("d-1")
	if err != nil {
		t.Fatalf("delivery: %v", err)
	}
	status := map[string]string{}
	for _, w := range res.Tasks {
		status[w.Task] = w.Status
	}
	if status["OPS-CI-MONITOR-002"] != fairway.StatusInReview || status["OPS-CI-MONITOR-003"] != fairway.StatusOpen {
		t.Fatalf("settled = %v", status)
	}
	if res, err := deliver("d-1"); err != nil || !res.Duplicate {
		t.Fatalf("redelivery: %+v %v, want a duplicate", res, err)
	}
	for _, key := range []string{"OPS-CI-MONITOR-002", "OPS-CI-MONITOR-003"} {
		if ev := must(l.ListEvidence(context.Background(), fairway.EvidenceFilter{Task: key})); len(ev) != 1 {
			t.Errorf("%s has %d terminal records, want 1", key, len(ev))
		}
	}
}

// A failure on a lane-less monitor task whose key is long still opens
// its follow-up (a key within the limit): the follow-up's key is not
// allowed to fail the delivery after the run was recorded and the task
// moved, which left the delivery unreceived, so every retry recorded the
// run again.
func TestWebhook_FollowUpOfALongKeyedTask(t *testing.T) {
	l, _ := webhookLedger(t)
	key := "OPS-" + strings.Repeat("MONITOR-", 10) + "RERUN-0001"
	if len(key) > fairway.MaxKeyLen || len(key)+len("-FU-0123456789AB") <= fairway.MaxKeyLen {
		t.Fatalf("key of %d characters does not make the case", len(key))
	}
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: key, Title: "the rerun", Labels: []string{"monitor", "repo/acme/gpuaas", "run/9120455999"}}))
	body := payload(t, "workflow_run.completed.failure")
	res, err := l.ReceiveWebhook(as("omar"), fairway.WebhookDelivery{Source: "github", Event: "workflow_run", Delivery: "d-long", Body: body,
		Signature: githubSignature("It's a Secret to Everybody", body)})
	if err != nil || len(res.Tasks) != 1 || res.Tasks[0].FollowUp == "" || len(res.Tasks[0].FollowUp) > fairway.MaxKeyLen {
		t.Fatalf("delivery: %+v %v", res, err)
	}
	fu := must(l.GetTask(context.Background(), res.Tasks[0].FollowUp))
	if !strings.Contains(fu.Scope.Text, "Watched by "+key) {
		t.Fatalf("follow-up = %+v", fu)
	}
}

// Anyone can post to a webhook: forged deliveries are refused every time,
// but audited at most 30 a minute per source; the next audited refusal
// says how many were not.
func TestWebhook_RefusalFloodIsAuditedAtARate(t *testing.T) {
	l, now := webhookLedger(t)
	clock := now
	l.Now = func() time.Time { return clock }
	head := func() int64 {
		tree := must(l.AuditTree(context.Background()))
		return tree.Size
	}
	before := head()
	forged := func(i int) error {
		_, err := l.ReceiveWebhook(as("omar"), fairway.WebhookDelivery{Source: "github", Event: "workflow_run", Delivery: fmt.Sprintf("forged-%d", i),
			Body: []byte(`{"action":"completed"}`), Signature: "sha256=" + strings.Repeat("0", 64)})
		return err
	}
	for i := range 40 {
		if err := forged(i); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
			t.Fatalf("forged delivery %d: %v", i, err)
		}
	}
	if got := head() - before; got != 30 {
		t.Fatalf("%d refusals audited in one minute, want 30", got)
	}
	clock = clock.Add(time.Minute)
	if err := forged(40); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("forged delivery a minute later: %v", err)
	}
	events := must(l.AuditLog(context.Background(), fairway.AuditFilter{AfterSeq: before + 30}))
	if len(events) != 1 || !strings.Contains(string(events[0].Change), `"unaudited_refusals_before":10`) {
		t.Fatalf("the next minute's refusal: %d events %v", len(events), events)
	}
}
