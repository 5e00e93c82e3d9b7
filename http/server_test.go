package http_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/demo"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/sqlite"
)

func TestOpenAPI_DocumentsExactlyTheRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(fairwayhttp.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	served := fairwayhttp.Routes()
	sort.Strings(documented)
	sort.Strings(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("openapi.json and the routes differ:\ndocumented %v\nserved     %v", documented, served)
	}
}

type apiEnv struct {
	api   *fairwayhttp.Server
	srv   *httptest.Server
	l     *ledger.Ledger
	token string
	agent string
	// blobDir is the file blob store's folder.
	blobDir string
}

func newAPIEnv(t *testing.T) *apiEnv {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobDir := t.TempDir()
	blobs, err := blob.NewFileStore(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(store, blobs)
	alice, err := l.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: "human", IssueToken: true})
	if err != nil {
		t.Fatal(err)
	}
	codex, err := l.CreateActor(fairway.NewContextWithActor(context.Background(), alice.Actor), fairway.ActorCreate{Name: "codex", Kind: "agent", IssueToken: true})
	if err != nil {
		t.Fatal(err)
	}
	api := fairwayhttp.NewServer(l, ledger.TokenAuth{L: l}, nil)
	srv := httptest.NewServer(api)
	t.Cleanup(func() { srv.Close(); store.Close() })
	return &apiEnv{api: api, srv: srv, l: l, token: alice.Token, agent: codex.Token, blobDir: blobDir}
}

func (e *apiEnv) do(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func (e *apiEnv) auditHead(t *testing.T) int64 {
	v, err := e.l.VerifyAudit(context.Background())
	if err != nil || !v.OK {
		t.Fatalf("verify: %+v %v", v, err)
	}
	return v.Head.Seq
}

func TestAPI_BadInputNamesFieldAndWritesNothing(t *testing.T) {
	e := newAPIEnv(t)
	big := `{"key":"BIG-1","title":"` + strings.Repeat("x", fairwayhttp.MaxBodyBytes) + `"}`
	cases := []struct {
		name, method, path, body string
		status                   int
		code, field, message     string
	}{
		{"unknown field", "POST", "/api/v1/tasks", `{"key":"A-1","title":"t","colour":"red"}`, 400, "invalid", "colour", "is not a known field"},
		{"bad key", "POST", "/api/v1/tasks", `{"key":"a b","title":"t"}`, 400, "invalid", "key", ""},
		{"empty title", "POST", "/api/v1/tasks", `{"key":"A-1","title":""}`, 400, "invalid", "title", "is required and must not be blank"},
		{"unknown owner", "POST", "/api/v1/tasks", `{"key":"A-1","title":"t","owner":"ghost"}`, 400, "invalid", "owner", ""},
		{"wrong type", "POST", "/api/v1/tasks", `{"key":"A-1","title":"t","priority":"high"}`, 400, "invalid", "priority", "must be a JSON int, not string"},
		{"malformed JSON", "POST", "/api/v1/tasks", `{"key":"A-1",`, 400, "invalid", "", "malformed JSON: the body ends early"},
		{"empty body", "POST", "/api/v1/lanes", ``, 400, "invalid", "", "request body is empty; send a JSON object"},
		{"two values", "POST", "/api/v1/lanes", `{"name":"a"}{"name":"b"}`, 400, "invalid", "", "request body holds more than one JSON value"},
		{"a field named twice", "POST", "/api/v1/tasks", `{"key":"A-1","title":"t","key":"A-2"}`, 400, "invalid", "key", "is named twice; send each field once"},
		{"a field named twice in another case", "POST", "/api/v1/tasks", `{"key":"A-1","title":"t","Title":"u"}`, 400, "invalid", "Title", "is named twice; send each field once"},
		{"a nested field named twice", "POST", "/api/v1/tasks", `{"key":"A-1","title":"t","scope":{"text":"a","surfaces":["edge"],"text":"b"}}`, 400, "invalid", "scope.text", "is named twice; send each field once"},
		// The decoder would store these as U+FFFD: the task would not say
		// what was sent.
		{"bytes that are not UTF-8", "POST", "/api/v1/tasks", "{\"key\":\"A-1\",\"title\":\"t\xff\"}", 400, "invalid", "",
			"the body is not valid UTF-8 text at byte 23 (bytes that are not UTF-8, or half a surrogate pair); send text as UTF-8, since the server would store it changed (as U+FFFD)"},
		{"half a surrogate pair", "POST", "/api/v1/tasks", `{"key":"A-1","title":"t\ud800"}`, 400, "invalid", "", ""},
		{"oversized body", "POST", "/api/v1/tasks", big, 413, "invalid", "", ""},
		{"time that does not parse", "POST", "/api/v1/waivers", `{"task":"A-1","requirement":"evidence:x","reason":"r","expires_at":"next week"}`, 400, "invalid", "expires_at", ""},
		{"bad limit", "GET", "/api/v1/next?limit=many", "", 400, "invalid", "limit", `"many" is not a whole number`},
		{"a limit of 0", "GET", "/api/v1/tasks?limit=0", "", 400, "invalid", "limit", "must be at least 1, not 0; leave it out for the default"},
		{"a negative limit", "GET", "/api/v1/audit?limit=-5", "", 400, "invalid", "limit", "must be at least 1, not -5; leave it out for the default"},
		{"a search limit of 0", "GET", "/api/v1/search?q=x&limit=0", "", 400, "invalid", "limit", "must be at least 1, not 0; leave it out for the default"},
		{"a plan limit that is not a number", "GET", "/api/v1/plan?limit=ten", "", 400, "invalid", "limit", `"ten" is not a whole number`},
		{"a negative event to stream after", "GET", "/api/v1/events?after=-3", "", 400, "invalid", "after", "must be 0 (from the first event) or an event sequence number, not -3"},
		{"bad status filter", "GET", "/api/v1/tasks?status=finished", "", 400, "invalid", "status", ""},
		{"unknown task", "GET", "/api/v1/tasks/NOPE-1", "", 404, "not_found", "", `task "NOPE-1" not found`},
		{"unknown route", "GET", "/api/v1/nothing", "", 404, "not_found", "", ""},
	}
	before := e.auditHead(t)
	for _, c := range cases {
		status, body := e.do(t, c.method, c.path, e.token, c.body)
		errObj, _ := body["error"].(map[string]any)
		if status != c.status || errObj == nil || errObj["code"] != c.code {
			t.Errorf("%s: status %d body %v; want %d %s", c.name, status, body, c.status, c.code)
			continue
		}
		if field, _ := errObj["field"].(string); field != c.field {
			t.Errorf("%s: field %q, want %q", c.name, field, c.field)
		}
		if msg, _ := errObj["message"].(string); c.message != "" && msg != c.message {
			t.Errorf("%s: message %q, want %q", c.name, msg, c.message)
		}
	}
	if after := e.auditHead(t); after != before {
		t.Fatalf("bad input wrote %d audit events", after-before)
	}
	if tasks, _ := e.l.ListTasks(context.Background(), fairway.TaskFilter{}); len(tasks) != 0 {
		t.Fatalf("bad input created tasks: %v", tasks)
	}
}

func TestAPI_TokensAreRequiredAndCarryTheKind(t *testing.T) {
	e := newAPIEnv(t)
	status, body := e.do(t, "GET", "/api/v1/next", "", "")
	if status != 401 || body["error"].(map[string]any)["code"] != "unauthorized" {
		t.Fatalf("no token: %d %v", status, body)
	}
	status, _ = e.do(t, "GET", "/api/v1/next", "fw_forged", "")
	if status != 401 {
		t.Fatalf("forged token: %d", status)
	}
	status, body = e.do(t, "GET", "/api/v1/whoami", e.agent, "")
	if status != 200 || body["name"] != "codex" || body["kind"] != "agent" {
		t.Fatalf("whoami: %d %v", status, body)
	}
	status, _ = e.do(t, "POST", "/api/v1/tasks", e.agent, `{"key":"AG-1","title":"agent work"}`)
	if status != 201 {
		t.Fatalf("agent create: %d", status)
	}
	status, body = e.do(t, "POST", "/api/v1/tasks/AG-1/close", e.agent, `{}`)
	if status != 403 || body["error"].(map[string]any)["code"] != "forbidden" {
		t.Fatalf("agent close: %d %v", status, body)
	}
	status, body = e.do(t, "GET", "/api/v1/openapi.json", "", "")
	if status != 200 || body["openapi"] == nil {
		t.Fatalf("openapi without token: %d", status)
	}
}

func TestClient_GateFailureCarriesDecision(t *testing.T) {
	e := newAPIEnv(t)
	c := fairwayhttp.NewClient(e.srv.URL, e.token)
	ctx := context.Background()
	for _, k := range []string{"G-1", "G-2"} {
		if _, err := c.CreateTask(ctx, fairway.TaskCreate{Key: k, Title: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddDependency(ctx, "G-2", "G-1"); err != nil {
		t.Fatal(err)
	}
	d, err := c.CloseTask(ctx, "G-2")
	if fairway.ErrorCode(err) != fairway.EGATEFAILED || d == nil || d.Pass || d.Requirements[1].ID != "dependency:G-1" {
		t.Fatalf("close G-2: %+v %v", d, err)
	}
	if err := c.RemoveDependency(ctx, "G-2", "G-1"); err != nil {
		t.Fatal(err)
	}
	if d, err := c.CloseTask(ctx, "G-2"); err != nil || !d.Pass {
		t.Fatalf("close after removing the dependency: %+v %v", d, err)
	}
}

func TestClient_EvidenceStreamsAndChecksDigest(t *testing.T) {
	e := newAPIEnv(t)
	c := fairwayhttp.NewClient(e.srv.URL, e.agent)
	ctx := context.Background()
	if _, err := c.CreateTask(ctx, fairway.TaskCreate{Key: "UP-1", Title: "upload"}); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("uat line\n", 200000)
	sum := sha256.Sum256([]byte(body))
	digest := "sha256:" + hex.EncodeToString(sum[:])
	before := e.auditHead(t)
	_, err := c.AddEvidence(ctx, fairway.EvidenceAdd{Task: "UP-1", Kind: "uat-report", ExpectedDigest: digest},
		fairway.EvidenceParts{Content: strings.NewReader(body[:len(body)-1])})
	if fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(fairway.ErrorMessage(err), "changed or cut short") {
		t.Fatalf("truncated upload: %v", err)
	}
	if after := e.auditHead(t); after != before {
		t.Fatalf("refused upload wrote audit events")
	}
	ev, err := c.AddEvidence(ctx, fairway.EvidenceAdd{Task: "UP-1", Kind: "uat-report", ExpectedDigest: digest, Filename: "uat.log"},
		fairway.EvidenceParts{Content: strings.NewReader(body)})
	if err != nil || ev.Digest != digest || ev.RecordedBy != "codex" {
		t.Fatalf("upload: %+v %v", ev, err)
	}
	rc, err := c.OpenEvidence(ctx, ev.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != body {
		t.Fatalf("downloaded %d bytes, want %d", len(got), len(body))
	}
	if _, err := c.OpenEvidence(ctx, ev.ID, "stdout"); fairway.ErrorCode(err) != fairway.EINVALID {
		t.Fatalf("stdout of a file: %v", err)
	}
	// Bytes changed in the blob store (same size) end the download
	// unfinished: the client reads an error, not a body that looks whole.
	path := filepath.Join(e.blobDir, "sha256", digest[7:9], digest[7:])
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, []byte(strings.Replace(body, "uat", "UAT", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	rc, err = c.OpenEvidence(ctx, ev.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(rc)
	rc.Close()
	if err == nil {
		t.Fatalf("downloaded %d changed bytes with no error", len(got))
	}
	_, err = c.AddEvidence(ctx, fairway.EvidenceAdd{Task: "NOPE-9", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader(body)})
	if fairway.ErrorCode(err) != fairway.ENOTFOUND {
		t.Fatalf("upload to unknown task: %v", err)
	}
}

func TestAPI_GovernanceBadInputWritesNothing(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	as := fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "alice"})
	if _, err := e.l.BootstrapPolicy(as, "governance.yaml", demo.Policy); err != nil {
		t.Fatal(err)
	}
	if _, err := e.l.CreateTask(as, fairway.TaskCreate{Key: "GOV-1", Title: "t"}); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(demo.Policy), "waiver_domain: security\n  rte-exports", "waiver_domain: secops\n  rte-exports", 1)
	body, _ := json.Marshal(map[string]string{"file": "governance.yaml", "source": bad})
	cases := []struct {
		name, method, path, body string
		status                   int
		field, message           string
	}{
		{"unknown domain", "POST", "/api/v1/tasks/GOV-1/reviews", `{"domain":"finance","verdict":"approved"}`, 400, "domain", ""},
		{"no verdict", "POST", "/api/v1/tasks/GOV-1/reviews", `{"domain":"ops"}`, 400, "verdict", ""},
		{"waiver without expiry", "POST", "/api/v1/waivers", `{"task":"GOV-1","requirement":"dependency:GOV-1","reason":"x"}`, 400, "expires_at", "is required: every waiver ends"},
		{"waiver for task and lane", "POST", "/api/v1/waivers", `{"task":"GOV-1","lane":"l","requirement":"evidence:x","reason":"x","expires_at":"2030-01-01T00:00:00Z"}`, 400, "task", ""},
		{"dangling policy reference", "POST", "/api/v1/tasks/GOV-1/policy", string(body), 400, "policy", ""},
		{"bad waiver id", "POST", "/api/v1/waivers/x/approve", `{}`, 400, "id", ""},
	}
	before := e.auditHead(t)
	for _, c := range cases {
		status, resp := e.do(t, c.method, c.path, e.token, c.body)
		errObj, _ := resp["error"].(map[string]any)
		if status != c.status || errObj == nil || errObj["field"] != c.field {
			t.Errorf("%s: %d %v; want %d on field %q", c.name, status, resp, c.status, c.field)
			continue
		}
		if c.message != "" && errObj["message"] != c.message {
			t.Errorf("%s: message %q", c.name, errObj["message"])
		}
		if c.name == "dangling policy reference" && !strings.Contains(errObj["message"].(string), `prerequisites.mfa-live-drill.waiver_domain: review domain "secops" is not defined`) {
			t.Errorf("policy error does not place the problem: %q", errObj["message"])
		}
	}
	if after := e.auditHead(t); after != before {
		t.Fatalf("bad governance input wrote %d audit events", after-before)
	}
}

func TestEvents_StreamAuditLiveAndResume(t *testing.T) {
	e := newAPIEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := e.auditHead(t)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events?after="+strconv.FormatInt(before, 10), nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	c := fairwayhttp.NewClient(e.srv.URL, e.token)
	for _, k := range []string{"EV-1", "EV-2"} {
		if _, err := c.CreateTask(context.Background(), fairway.TaskCreate{Key: k, Title: "streamed"}); err != nil {
			t.Fatal(err)
		}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var got []string
	for len(got) < 2 && sc.Scan() {
		line := sc.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var ev fairway.AuditEvent
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%d %s %s", ev.Seq, ev.Action, ev.Subject))
		}
	}
	want := []string{fmt.Sprintf("%d task.create EV-1", before+1), fmt.Sprintf("%d task.create EV-2", before+2)}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events %v, want %v", got, want)
	}
	// Resuming with Last-Event-ID starts after it.
	req2, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events", nil)
	req2.Header.Set("Authorization", "Bearer "+e.token)
	req2.Header.Set("Last-Event-ID", strconv.FormatInt(before+1, 10))
	resp2, err := http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	sc2 := bufio.NewScanner(resp2.Body)
	for sc2.Scan() {
		if id, ok := strings.CutPrefix(sc2.Text(), "id: "); ok {
			if id != strconv.FormatInt(before+2, 10) {
				t.Fatalf("resumed at %s, want %d", id, before+2)
			}
			break
		}
	}
}

func TestClient_EvidenceUploadIsBounded(t *testing.T) {
	e := newAPIEnv(t)
	e.api.MaxEvidenceBytes = 1 << 20
	c := fairwayhttp.NewClient(e.srv.URL, e.token)
	ctx := context.Background()
	if _, err := c.CreateTask(ctx, fairway.TaskCreate{Key: "BIG-1", Title: "big"}); err != nil {
		t.Fatal(err)
	}
	before := e.auditHead(t)
	_, err := c.AddEvidence(ctx, fairway.EvidenceAdd{Task: "BIG-1", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader(strings.Repeat("x", 2<<20))})
	if fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(fairway.ErrorMessage(err), "larger than 1048576 bytes") {
		t.Fatalf("oversized upload: %v", err)
	}
	if after := e.auditHead(t); after != before {
		t.Fatal("an oversized upload wrote to the audit log")
	}
	if _, err := c.AddEvidence(ctx, fairway.EvidenceAdd{Task: "BIG-1", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader(strings.Repeat("x\n", 1000))}); err != nil {
		t.Fatalf("small upload after a refused one: %v", err)
	}
}

// R1 end to end: a service token cannot mint a human (who could then
// approve and close); a human can, and can disable an actor and revoke
// tokens, which stop at once.
func TestAPI_IdentityBotCannotMintApprover(t *testing.T) {
	e := newAPIEnv(t)
	status, body := e.do(t, "POST", "/api/v1/actors", e.token, `{"name":"ci","kind":"service","issue_token":true}`)
	if status != 201 {
		t.Fatalf("human creates a service: %d %v", status, body)
	}
	service := body["token"].(string)
	status, body = e.do(t, "POST", "/api/v1/actors", service, `{"name":"olivia","kind":"human","issue_token":true}`)
	if errObj, _ := body["error"].(map[string]any); status != 403 || errObj["code"] != "forbidden" {
		t.Fatalf("service creates a human: %d %v, want 403 forbidden", status, body)
	}
	if _, err := e.l.GetActor(context.Background(), "olivia"); fairway.ErrorCode(err) != fairway.ENOTFOUND {
		t.Fatalf("the refused human exists: %v", err)
	}
	status, body = e.do(t, "POST", "/api/v1/actors/alice/token", service, ``)
	if status != 403 {
		t.Fatalf("service rotates a human's token: %d %v, want 403", status, body)
	}
	status, _ = e.do(t, "POST", "/api/v1/actors", service, `{"name":"bot-2","kind":"agent","issue_token":true}`)
	if status != 201 {
		t.Fatalf("service creates an agent: %d", status)
	}

	// The bearer scheme is case-insensitive (RFC 7235).
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "bearer "+e.agent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("lower-case bearer: %v %v", resp.Status, err)
	}
	resp.Body.Close()

	status, body = e.do(t, "POST", "/api/v1/actors/codex/disable", e.agent, `{"reason":"self"}`)
	if status != 403 {
		t.Fatalf("agent disables itself through the API: %d %v", status, body)
	}
	status, body = e.do(t, "POST", "/api/v1/actors/codex/disable", e.token, `{"reason":"replaced"}`)
	if status != 200 || body["disabled_by"] != "alice" {
		t.Fatalf("human disables codex: %d %v", status, body)
	}
	if status, _ = e.do(t, "GET", "/api/v1/whoami", e.agent, ""); status != 401 {
		t.Fatalf("disabled actor's token: %d, want 401 at once", status)
	}
	status, body = e.do(t, "DELETE", "/api/v1/actors/ci/tokens", e.token, "")
	if status != 200 || body["revoked"] != float64(1) {
		t.Fatalf("revoke the service's tokens: %d %v", status, body)
	}
	if status, _ = e.do(t, "GET", "/api/v1/whoami", service, ""); status != 401 {
		t.Fatalf("revoked token: %d, want 401", status)
	}
}

// The client's Watch follows the server's stream: the CLI's
// `audit log --follow` is the same call in server mode as in local mode.
func TestClient_WatchFollowsTheStream(t *testing.T) {
	e := newAPIEnv(t)
	c := fairwayhttp.NewClient(e.srv.URL, e.token)
	before := e.auditHead(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- c.Watch(ctx, fairway.AuditFilter{AfterSeq: before}, func(ev *fairway.AuditEvent) error {
			got <- fmt.Sprintf("%d %s %s", ev.Seq, ev.Action, ev.Subject)
			if ev.Subject == "W-2" {
				return errors.New("seen enough")
			}
			return nil
		})
	}()
	for _, k := range []string{"W-1", "W-2"} {
		if _, err := c.CreateTask(context.Background(), fairway.TaskCreate{Key: k, Title: "watched"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err == nil || err.Error() != "seen enough" {
		t.Fatalf("Watch returned %v, want the callback's error", err)
	}
	close(got)
	var lines []string
	for l := range got {
		lines = append(lines, l)
	}
	want := fmt.Sprintf("%d task.create W-1|%d task.create W-2", before+1, before+2)
	if strings.Join(lines, "|") != want {
		t.Fatalf("watched %q, want %q", strings.Join(lines, "|"), want)
	}
}

// A load balancer asks /readyz whether a replica's store answers, and a
// scraper reads /metrics; both answer without a token, and metrics label
// by route, never by a task key.
func TestServer_ReadyAndMetrics(t *testing.T) {
	e := newAPIEnv(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, resp.Status, err)
		}
		resp.Body.Close()
	}
	e.do(t, "GET", "/api/v1/tasks/SECRET-KEY-1", e.token, "")
	e.do(t, "GET", "/api/v1/tasks/SECRET-KEY-2", e.token, "")
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	want := `fairway_http_requests_total{method="GET",route="/api/v1/tasks/{key}",status="404"} 2`
	if !strings.Contains(text, want) {
		t.Fatalf("metrics lack %q:\n%s", want, text)
	}
	if strings.Contains(text, "SECRET-KEY") {
		t.Fatal("metrics hold a task key")
	}
	if !strings.Contains(text, `fairway_http_request_duration_seconds_count{route="/api/v1/tasks/{key}"} 2`) {
		t.Fatalf("no duration histogram:\n%s", text)
	}
}

// A witness with no account reads the newest checkpoint and consistency
// proofs; nothing else answers without a token, and a bad token sent to
// those two is still refused.
func TestAPI_WitnessRoutesAnswerWithoutAToken(t *testing.T) {
	e := newAPIEnv(t)
	status, body := e.do(t, "GET", "/api/v1/checkpoint", "", "")
	if status != 404 || body["error"].(map[string]any)["code"] != "not_found" {
		t.Fatalf("checkpoint, none signed yet: %d %v", status, body)
	}
	status, body = e.do(t, "GET", "/api/v1/audit/proof/consistency?from=1&to=2", "", "")
	if status != 200 || body["from"] != float64(1) || body["to"] != float64(2) {
		t.Fatalf("consistency without a token: %d %v", status, body)
	}
	for _, path := range []string{"/api/v1/checkpoint", "/api/v1/audit/proof/consistency?from=1&to=2"} {
		if status, _ := e.do(t, "GET", path, "fw_forged", ""); status != 401 {
			t.Errorf("%s with a forged token: %d, want 401", path, status)
		}
	}
	for _, path := range []string{"/api/v1/checkpoints", "/api/v1/audit/proof/inclusion?seq=1", "/api/v1/audit", "/api/v1/audit/tree"} {
		if status, _ := e.do(t, "GET", path, "", ""); status != 401 {
			t.Errorf("%s without a token: %d, want 401", path, status)
		}
	}
}

// metricValue reads one sample of /metrics.
func metricValue(t *testing.T, base, sample string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return v
		}
	}
	t.Fatalf("metrics lack %s:\n%s", sample, body)
	return 0
}

// /metrics counts the store's committed writes in its batch histogram,
// times their commits and shows the pool; the counts move by exactly the
// writes made.
func TestServer_StoreMetrics(t *testing.T) {
	e := newAPIEnv(t)
	writes := metricValue(t, e.srv.URL, "fairway_store_batch_writes_sum")
	commits := metricValue(t, e.srv.URL, "fairway_store_commit_seconds_count")
	for i := range 3 {
		if code, out := e.do(t, "POST", "/api/v1/tasks", e.token, fmt.Sprintf(`{"key":"M-%d","title":"metered"}`, i)); code != 201 {
			t.Fatalf("create: %d %v", code, out)
		}
	}
	if got := metricValue(t, e.srv.URL, "fairway_store_batch_writes_sum"); got != writes+3 {
		t.Fatalf("batch writes went from %v to %v, want +3", writes, got)
	}
	if got := metricValue(t, e.srv.URL, "fairway_store_commit_seconds_count"); got < commits+1 || got > commits+3 {
		t.Fatalf("commits went from %v to %v, want +1 to +3", commits, got)
	}
	if got := metricValue(t, e.srv.URL, `fairway_store_batch_writes_bucket{le="+Inf"}`); got != metricValue(t, e.srv.URL, "fairway_store_commit_seconds_count") {
		t.Fatalf("batch histogram counts %v batches, the commit histogram another number", got)
	}
	metricValue(t, e.srv.URL, "fairway_store_pool_connections")
	metricValue(t, e.srv.URL, "fairway_store_batch_retries_total")
}

// /readyz refuses when the database schema is not this build's: here a
// newer build's migration is recorded.
func TestServer_ReadyzWantsCurrentMigrations(t *testing.T) {
	e := newAPIEnv(t)
	db, err := sql.Open("sqlite", e.l.Store().(*sqlite.Store).Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(e.srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), "migrations are not current") {
		t.Fatalf("/readyz = %d %q, want 503 naming the migrations", resp.StatusCode, body)
	}
	resp, err = http.Get(e.srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v; the process still serves", resp.Status, err)
	}
	resp.Body.Close()
}

// /metrics answers without a token, so what a caller chooses never
// becomes a label: any method the API does not serve counts as "other",
// and a thousand made-up methods add one series, not a thousand.
func TestServer_MetricsMethodsAreBounded(t *testing.T) {
	e := newAPIEnv(t)
	for i := range 1000 {
		req, _ := http.NewRequest(fmt.Sprintf("M%04d", i), e.srv.URL+"/nowhere", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	if strings.Contains(text, "M0001") || !strings.Contains(text, `fairway_http_requests_total{method="other",route="unmatched",status="404"} 1000`) {
		t.Fatalf("metrics by made-up method:\n%.2000s", text)
	}
}

// Tokens one by one over the API: the client lists and revokes through
// the routes; a revoked token and an expired one get 401 saying why;
// an agent cannot revoke a human's token.
func TestAPI_TokensOneByOne(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	now := time.Date(2036, 11, 30, 9, 0, 0, 0, time.UTC)
	e.l.Now = func() time.Time { return now }
	alice := fairwayhttp.NewClient(e.srv.URL, e.token)
	for _, bad := range []string{"forever", "1m", "9000h"} {
		status, body := e.do(t, "POST", "/api/v1/actors/codex/token?ttl="+bad, e.token, "")
		if errObj, _ := body["error"].(map[string]any); status != 400 || errObj["field"] != "ttl" {
			t.Fatalf("rotate with ttl=%s: %d %v, want 400 naming ttl", bad, status, body)
		}
	}
	second, err := alice.RotateToken(ctx, "codex", 3*time.Hour)
	if err != nil || !second.TokenExpiresAt.Equal(now.Add(3*time.Hour)) {
		t.Fatalf("rotate with a 3h life: %+v %v", second, err)
	}
	link, err := e.l.IssueLoginLink(fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "alice"}), ledger.LoginLinkTTL, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	signedIn, err := e.l.RedeemLoginLink(ctx, link.Link)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := alice.ListTokens(ctx, "")
	if err != nil || len(mine) != 2 || mine[1].ID != fairway.TokenID(ledger.HashToken(signedIn.Token)) || !mine[1].ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("alice's own tokens = %+v %v", mine, err)
	}
	codex := fairwayhttp.NewClient(e.srv.URL, second.Token)
	if _, err := codex.RevokeToken(ctx, mine[0].ID); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
		t.Fatalf("an agent revoking a human's token over the API: %v, want forbidden", err)
	}
	if _, err := alice.RevokeToken(ctx, "alice"); fairway.ErrorCode(err) != fairway.EINVALID {
		t.Fatalf("an actor's name as a token id: %v, want invalid", err)
	}
	k, err := alice.RevokeToken(ctx, mine[1].ID)
	if err != nil || k.ID != mine[1].ID || k.RevokedAt.IsZero() {
		t.Fatalf("revoke = %+v %v", k, err)
	}
	status, body := e.do(t, "GET", "/api/v1/whoami", signedIn.Token, "")
	if status != 401 {
		t.Fatalf("the revoked token: %d %v, want 401", status, body)
	}
	if status, _ := e.do(t, "GET", "/api/v1/whoami", e.token, ""); status != 200 {
		t.Fatalf("alice's other token after revoking one: %d", status)
	}
	// An expired sign-in: 401, saying it expired and how to get another.
	link, _ = e.l.IssueLoginLink(fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "alice"}), ledger.LoginLinkTTL, time.Hour)
	signedIn, _ = e.l.RedeemLoginLink(ctx, link.Link)
	now = now.Add(time.Hour)
	status, body = e.do(t, "GET", "/api/v1/whoami", signedIn.Token, "")
	if errObj, _ := body["error"].(map[string]any); status != 401 || !strings.Contains(fmt.Sprint(errObj["message"]), "expired at 2036-11-30T10:00:00Z") ||
		!strings.Contains(fmt.Sprint(errObj["message"]), "fairway portal login-link") {
		t.Fatalf("an expired token: %d %v, want 401 saying it expired", status, body)
	}
	list, err := codex.ListTokens(ctx, "codex")
	if err != nil || len(list) != 1 || list[0].ID != fairway.TokenID(ledger.HashToken(second.Token)) || !list[0].ExpiresAt.Equal(second.TokenExpiresAt) {
		t.Fatalf("codex's tokens = %+v %v", list, err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := codex.Whoami(ctx); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "fairway token rotate codex") {
		t.Fatalf("codex's 3h token after 3h: %v, want unauthorized saying how to get a new one", err)
	}
}

// An event stream opened with a token ends when the token stops working:
// revoked, or past its expiry. Otherwise a token revoked (or expired)
// after connecting would go on reading every change of the ledger.
func TestEvents_StreamEndsWhenItsTokenStops(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	e.l.Now = func() time.Time { return now }
	alice := fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "alice", Kind: fairway.KindHuman})
	expiring, err := e.l.RotateToken(alice, "codex", 3*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	open := func(token string) *bufio.Scanner {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events?after="+strconv.FormatInt(e.auditHead(t), 10), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != 200 {
			t.Fatalf("opening the stream: %d", resp.StatusCode)
		}
		return bufio.NewScanner(resp.Body)
	}
	// rest reads the stream until its next event or its end: the event
	// is the hole (the task written after the token stopped), "" the fix.
	rest := func(sc *bufio.Scanner) string {
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				return ev
			}
		}
		return ""
	}

	// Expired: the stream opened before the expiry delivers nothing after.
	sc := open(expiring.Token)
	now = now.Add(3 * time.Hour)
	if _, err := e.l.CreateTask(alice, fairway.TaskCreate{Key: "EV-LATE", Title: "after the token expired"}); err != nil {
		t.Fatal(err)
	}
	if got := rest(sc); got != "" {
		t.Fatalf("an expired token's stream delivered %s, want it ended", got)
	}

	// Revoked: codex's next token, revoked while its stream is open.
	second, err := e.l.RotateToken(alice, "codex", 0)
	if err != nil {
		t.Fatal(err)
	}
	sc = open(second.Token)
	if _, err := e.l.RevokeToken(alice, fairway.TokenID(ledger.HashToken(second.Token))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.l.CreateTask(alice, fairway.TaskCreate{Key: "EV-AFTER", Title: "after the token was revoked"}); err != nil {
		t.Fatal(err)
	}
	if got := rest(sc); got != "" {
		t.Fatalf("a revoked token's stream delivered %s, want it ended", got)
	}
}

// TestAPI_EvidenceMetaNamingAFieldTwiceIsRefused: an upload's meta that
// names a field twice (a kind or an exit code said two ways) means two
// things, and is refused before any byte is stored.
func TestAPI_EvidenceMetaNamingAFieldTwiceIsRefused(t *testing.T) {
	e := newAPIEnv(t)
	if status, body := e.do(t, "POST", "/api/v1/tasks", e.token, `{"key":"A-1","title":"t"}`); status != 201 {
		t.Fatalf("create: %d %v", status, body)
	}
	before := e.auditHead(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	meta, _ := mw.CreateFormField("meta")
	meta.Write([]byte(`{"kind":"log","parts":["content"],"Kind":"uat-report"}`))
	content, _ := mw.CreateFormFile("content", "x.log")
	content.Write([]byte("ok\n"))
	mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/tasks/A-1/evidence", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+e.agent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Error struct{ Code, Field, Message string }
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 400 || out.Error.Field != "meta" || out.Error.Message != "Kind is named twice; send each field once" {
		t.Fatalf("got %d %+v, want 400 naming meta: Kind is named twice", resp.StatusCode, out.Error)
	}
	if after := e.auditHead(t); after != before {
		t.Fatalf("a refused upload wrote %d audit events", after-before)
	}
}

// The request log never keeps a secret a client put in a URL's path (a
// token pasted where a task key goes, say): it is redacted as the ledger
// redacts text, and the rest of the path kept (R7).
func TestAPI_RequestLogRedactsASecretInThePath(t *testing.T) {
	e := newAPIEnv(t)
	var logged bytes.Buffer
	api := fairwayhttp.NewServer(e.l, ledger.TokenAuth{L: e.l}, slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug})))
	srv := httptest.NewServer(api)
	defer srv.Close()
	leaked := "ghp_" + strings.Repeat("Ab3dE", 7) + "X"
	for _, path := range []string{"/api/v1/tasks/" + leaked, "/api/v1/tasks/OPS-1"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if strings.Contains(logged.String(), leaked) || !strings.Contains(logged.String(), "/api/v1/tasks/[REDACTED:github-token]") ||
		!strings.Contains(logged.String(), "path=/api/v1/tasks/OPS-1") {
		t.Fatalf("request log:\n%s", logged.String())
	}
}
