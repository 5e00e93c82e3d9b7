package http_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"fairway"
	"fairway/blob"
	"fairway/demo"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/sqlite"
)

// heldBlobs holds the first evidence bytes staged until released: a
// replica in the middle of applying a delivery.
type heldBlobs struct {
	fairway.BlobStore
	once             sync.Once
	entered, release chan struct{}
}

func (b *heldBlobs) Create(ctx context.Context) (fairway.BlobWriter, error) {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	return b.BlobStore.Create(ctx)
}

// TestAPI_WebhookBeingAppliedElsewhereIs409: two servers over one store,
// as two replicas. While one applies a delivery, the same delivery at the
// other is answered 409 with a conflict error that says it is being
// applied and until when the claim holds — not 2xx, so the CI keeps it
// as undelivered and may send it again; once the first has answered 200,
// the same delivery is a 200 duplicate.
func TestAPI_WebhookBeingAppliedElsewhereIs409(t *testing.T) {
	file, dir := filepath.Join(t.TempDir(), "f.db"), t.TempDir()
	held := &heldBlobs{entered: make(chan struct{}), release: make(chan struct{})}
	replica := func(wrap bool) (*ledger.Ledger, *httptest.Server) {
		store, err := sqlite.Open(context.Background(), file, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		files, err := blob.NewFileStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		var blobs fairway.BlobStore = files
		if wrap {
			held.BlobStore = files
			blobs = held
		}
		l := ledger.New(store, blobs)
		l.Getenv = func(k string) string { return map[string]string{"FAIRWAY_GITHUB_WEBHOOK_SECRET": "hook-secret"}[k] }
		srv := httptest.NewServer(fairwayhttp.NewServer(l, ledger.TokenAuth{L: l}, nil))
		t.Cleanup(func() { srv.Close(); store.Close() })
		return l, srv
	}
	l, busy := replica(true)
	_, other := replica(false)
	alice := fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "alice"})
	must(l.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}))
	must(l.BootstrapPolicy(alice, "governance.yaml", demo.Policy))
	must(l.CreateActor(alice, fairway.ActorCreate{Name: "ci", Kind: fairway.KindService}))
	must(l.CreateTask(alice, fairway.TaskCreate{Key: "OPS-CI-MONITOR-001", Title: "watch CI", Labels: []string{"monitor", "repo/acme/gpuaas", "run/42"}}))
	body := `{"action":"completed","workflow_run":{"id":42,"name":"CI","path":".github/workflows/ci.yml","head_sha":"0123abcd0123abcd","status":"completed","conclusion":"success"},"repository":{"full_name":"acme/gpuaas"}}`
	mac := hmac.New(sha256.New, []byte("hook-secret"))
	mac.Write([]byte(body))
	post := func(srv *httptest.Server) (int, map[string]any) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/webhooks/github", strings.NewReader(body))
		req.Header.Set("X-GitHub-Event", "workflow_run")
		req.Header.Set("X-GitHub-Delivery", "d-1")
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	type answer struct {
		status int
		body   map[string]any
	}
	first := make(chan answer, 1)
	go func() { s, m := post(busy); first <- answer{s, m} }()
	<-held.entered // the first replica has claimed the delivery

	status, m := post(other)
	e, _ := m["error"].(map[string]any)
	if status != http.StatusConflict || e["code"] != fairway.ECONFLICT || !strings.Contains(e["message"].(string), "is being applied by another request (delivery d-1, claimed by ci until ") {
		t.Fatalf("the same delivery at the other replica: %d %v, want 409 being applied", status, m)
	}
	close(held.release)
	if a := <-first; a.status != http.StatusOK || len(a.body["tasks"].([]any)) != 1 {
		t.Fatalf("the first replica: %d %v", a.status, a.body)
	}
	if status, m := post(other); status != http.StatusOK || m["duplicate"] != true {
		t.Fatalf("after the first answered: %d %v, want a 200 duplicate", status, m)
	}
}

// must returns v, and panics on err: setup that cannot fail unless the
// code under test is broken.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
