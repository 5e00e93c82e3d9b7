package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/demo"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/portal"
	"fairway/sqlite"
)

// PortalFixture is a ledger of many tasks under the demo's governance
// policy, served by the JSON API and the portal in one handler, as
// `fairway serve` does; requests go to the handler in process, so both
// sides are measured without a network.
type PortalFixture struct {
	Store   *sqlite.Store
	Ledger  *ledger.Ledger
	Portal  *portal.Portal
	handler http.Handler
	token   string
	// Task is a task with dependencies both ways, whose page is timed.
	Task string
}

// NewPortalFixture builds a ledger of tasks tasks (and three times as many
// dependency edges) in dir.
func NewPortalFixture(ctx context.Context, dir string, tasks int) (*PortalFixture, error) {
	s, err := sqlite.Open(ctx, filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		return nil, err
	}
	blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		s.Close()
		return nil, err
	}
	l := ledger.New(s, blobs)
	out, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman, IssueToken: true})
	if err != nil {
		s.Close()
		return nil, err
	}
	actx, token := fairway.NewContextWithActor(ctx, out.Actor), out.Token
	if _, err := l.BootstrapPolicy(actx, "governance.yaml", demo.Policy); err != nil {
		s.Close()
		return nil, err
	}
	if err := Graph(ctx, s, tasks, 3*tasks, 1); err != nil {
		s.Close()
		return nil, err
	}
	auth := ledger.TokenAuth{L: l}
	srv := fairwayhttp.NewServer(l, auth, nil)
	p := portal.New(l, auth, nil, nil)
	srv.Handle("/", p.Handler())
	fx := &PortalFixture{Store: s, Ledger: l, Portal: p, handler: srv, token: token, Task: fmt.Sprintf("G-%06d", tasks/2)}
	// A few records of each kind on the timed task, so its page has
	// evidence, a claim and a review to show.
	for i := range 5 {
		if _, err := l.AddEvidence(actx, fairway.EvidenceAdd{Task: fx.Task, Kind: fairway.EvidenceLog, Filename: "run.log"},
			fairway.EvidenceParts{Content: strings.NewReader(fmt.Sprintf("run %d\nall checks passed\n", i))}); err != nil {
			s.Close()
			return nil, err
		}
	}
	if _, err := l.AddClaim(actx, fairway.ClaimAdd{Task: fx.Task, Text: "done, tests pass"}); err != nil {
		s.Close()
		return nil, err
	}
	return fx, nil
}

// Get requests path as the fixture's human, through the portal's session
// cookie for a page or a bearer token for the API, and reads the whole
// response.
func (fx *PortalFixture) Get(path string) error {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if strings.HasPrefix(path, "/api/") {
		req.Header.Set("Authorization", "Bearer "+fx.token)
	} else {
		req.AddCookie(&http.Cookie{Name: "fairway_session", Value: fx.token})
	}
	rec := httptest.NewRecorder()
	fx.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(rec.Body, 500))
		return fmt.Errorf("GET %s: %d %s", path, rec.Code, body)
	}
	return nil
}

// Percentile runs fn n times and returns the p-th percentile duration
// (p in 0..100).
func Percentile(n int, p float64, fn func() error) (time.Duration, error) {
	ds := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(float64(len(ds)-1) * p / 100)
	return ds[i], nil
}

// Site builds the static site of the fixture's ledger into dir.
func (fx *PortalFixture) Site(ctx context.Context, dir string, progress io.Writer) (*portal.BuildReport, error) {
	ctx = fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "alice", Kind: fairway.KindHuman})
	return fx.Portal.Build(ctx, portal.BuildOptions{Out: filepath.Join(dir, "site"), Progress: progress})
}

// CPUTime returns the processor time this process has used, user and
// system: on a shared machine it tells a slow run from a starved one.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
