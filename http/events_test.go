package http_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"fairway"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/sqlite"
)

// headCountingStore counts the reads of the audit head an identity check
// makes (fairway.HeadKeyReader).
type headCountingStore struct {
	*sqlite.Store
	headReads atomic.Int64
}

func (s *headCountingStore) AuditHeadKey(ctx context.Context) (int64, string, error) {
	s.headReads.Add(1)
	return s.Store.AuditHeadKey(ctx)
}

// The event stream checks its token before every event it sends, but
// reads the audit head for that once per batch of events: 200 events
// already written arrive in one batch, and only the request's own
// authentication reads the head.
func TestEvents_StreamReadsTheHeadOncePerBatch(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "f.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	counting := &headCountingStore{Store: s}
	l := ledger.New(counting, nil)
	alice, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman, IssueToken: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fairwayhttp.NewServer(l, ledger.TokenAuth{L: l}, nil))
	t.Cleanup(func() { srv.Close(); s.Close() })
	as := fairway.NewContextWithActor(ctx, alice.Actor)
	for i := range 200 {
		if _, err := l.CreateTask(as, fairway.TaskCreate{Key: fmt.Sprintf("EV-%d", i), Title: "streamed"}); err != nil {
			t.Fatal(err)
		}
	}
	before := counting.headReads.Load()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/events?after="+strconv.Itoa(1), nil)
	req.Header.Set("Authorization", "Bearer "+alice.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	n := 0
	for n < 200 && sc.Scan() {
		if strings.HasPrefix(sc.Text(), "event: ") {
			n++
		}
	}
	if n != 200 {
		t.Fatalf("streamed %d events, want 200", n)
	}
	if reads := counting.headReads.Load() - before; reads != 1 {
		t.Fatalf("the audit head was read %d times for a stream of 200 events, want 1 (the request's authentication)", reads)
	}
}

// A stream of one subject's events stops before the next one once its
// token is revoked by another process on the same store (a replica, the
// CLI): the revocation is about another subject and in no batch, but the
// head each batch is read at is the store's, past it.
func TestEvents_ASubjectStreamStopsAfterARevocationElsewhere(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	open := func() *sqlite.Store {
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	l := ledger.New(open(), nil)
	alice, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman, IssueToken: true})
	if err != nil {
		t.Fatal(err)
	}
	as := fairway.NewContextWithActor(ctx, alice.Actor)
	codex, err := l.CreateActor(as, fairway.ActorCreate{Name: "codex", Kind: fairway.KindAgent, IssueToken: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateTask(as, fairway.TaskCreate{Key: "EV-1", Title: "watched"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fairwayhttp.NewServer(l, ledger.TokenAuth{L: l}, nil))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/events?subject=EV-1&after=0", nil)
	req.Header.Set("Authorization", "Bearer "+codex.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	next := func() string {
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				return ev
			}
		}
		return ""
	}
	if ev := next(); ev != "task.create" {
		t.Fatalf("first event about EV-1: %q, want task.create", ev)
	}
	other := ledger.New(open(), nil)
	if _, err := other.RevokeTokens(fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "alice"}), "codex"); err != nil {
		t.Fatal(err)
	}
	title := "changed after the revocation"
	if _, err := other.UpdateTask(as, "EV-1", fairway.TaskUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev != "" {
		t.Fatalf("after the revocation elsewhere the stream delivered %q, want it ended", ev)
	}
}

// A stream opened with a session's credential ends when the session
// does (here: detached by its agent's own token), before delivering the
// next event, saying why; reconnecting with it is refused.
func TestEvents_ASessionsStreamEndsWithTheSession(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	alice := fairwayhttp.NewClient(e.srv.URL, e.token)
	agent := fairwayhttp.NewClient(e.srv.URL, e.agent)
	if _, err := alice.CreateTask(ctx, fairway.TaskCreate{Key: "EV-S", Title: "watched"}); err != nil {
		t.Fatal(err)
	}
	att, err := agent.AttachSession(ctx, fairway.SessionAttach{Task: "EV-S", Provider: "codex"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events?after=0", nil)
	req.Header.Set("Authorization", "Bearer "+att.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var comments []string
	next := func() string {
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				return ev
			} else if c, ok := strings.CutPrefix(sc.Text(), ": "); ok {
				comments = append(comments, c)
			}
		}
		return ""
	}
	for ev := next(); ev != "session.attach"; ev = next() {
		if ev == "" {
			t.Fatal("the stream ended before the session's attach")
		}
	}
	if _, err := agent.DetachSession(ctx, att.Session.ID, ""); err != nil {
		t.Fatal(err)
	}
	title := "changed after the detach"
	if _, err := alice.UpdateTask(ctx, "EV-S", fairway.TaskUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev != "" {
		t.Fatalf("after its session was detached the stream delivered %q, want it ended", ev)
	}
	if last := comments[len(comments)-1]; !strings.Contains(last, "is detached") {
		t.Fatalf("the stream's last word = %q, want why it ended", last)
	}
	code, body := e.do(t, "GET", "/api/v1/events?after=0", att.Token, "")
	if code != http.StatusForbidden || !strings.Contains(fmt.Sprint(body), "is detached") {
		t.Fatalf("reconnecting with the ended session's credential: %d %v, want 403 saying it is detached", code, body)
	}
}
