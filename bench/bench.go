// Package bench measures Fairway's hot paths: durable writes through the
// API with and without group commit, the ready query on a large graph, and
// whole-process CLI calls. The fairway bench command prints its results;
// the go test benchmarks reuse its fixtures.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"fairway"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/sqlite"
)

// OpenLedger opens a store in dir with opts and creates the actor alice,
// returning a context that acts as her and her bearer token.
func OpenLedger(ctx context.Context, dir string, opts sqlite.Options) (*ledger.Ledger, *sqlite.Store, context.Context, string, error) {
	s, err := sqlite.Open(ctx, filepath.Join(dir, "fairway.db"), opts)
	if err != nil {
		return nil, nil, nil, "", err
	}
	l := ledger.New(s, nil)
	out, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman, IssueToken: true})
	if err != nil {
		s.Close()
		return nil, nil, nil, "", err
	}
	return l, s, fairway.NewContextWithActor(ctx, out.Actor), out.Token, nil
}

// Run is one measured run of requests.
type Run struct {
	// PerSecond is acknowledged requests per second.
	PerSecond float64
	// CPU is the process's processor time (user and system, server and
	// clients both) while the requests ran: on a shared machine it moves
	// less than the rate does.
	CPU time.Duration
}

// APIWrites sends total task creations through the HTTP API from clients
// concurrent clients and returns acknowledged writes per second. Every
// acknowledged write is durable (fsynced) before its response.
func APIWrites(ctx context.Context, dir string, opts sqlite.Options, clients, total int) (float64, error) {
	r, err := APIWritesRun(ctx, dir, opts, clients, total)
	return r.PerSecond, err
}

// APIWritesRun is APIWrites with the CPU time the writes took.
func APIWritesRun(ctx context.Context, dir string, opts sqlite.Options, clients, total int) (Run, error) {
	return apiRequests(ctx, dir, opts, clients, total, http.StatusCreated, func(url string, i int64) (*http.Request, error) {
		body := fmt.Sprintf(`{"key":"W-%d","title":"write %d","risk":"low"}`, i, i)
		return http.NewRequestWithContext(ctx, "POST", url+"/api/v1/tasks", bytes.NewBufferString(body))
	})
}

// APINoop sends total authenticated requests that change nothing (who am
// I) through the same server and clients as APIWrites: the limit a
// durable write is judged against, since it pays for HTTP, JSON and token
// checks but not for the store's transaction and fsync.
func APINoop(ctx context.Context, dir string, opts sqlite.Options, clients, total int) (float64, error) {
	r, err := APINoopRun(ctx, dir, opts, clients, total)
	return r.PerSecond, err
}

// APINoopRun is APINoop with the CPU time the requests took.
func APINoopRun(ctx context.Context, dir string, opts sqlite.Options, clients, total int) (Run, error) {
	return apiRequests(ctx, dir, opts, clients, total, http.StatusOK, func(url string, _ int64) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, "GET", url+"/api/v1/whoami", nil)
	})
}

// apiRequests serves a fresh ledger on loopback and sends it total
// authenticated requests from clients concurrent clients, each expected
// to answer want; it returns requests per second and their CPU time.
func apiRequests(ctx context.Context, dir string, opts sqlite.Options, clients, total, want int, build func(url string, i int64) (*http.Request, error)) (Run, error) {
	l, s, _, token, err := OpenLedger(ctx, dir, opts)
	if err != nil {
		return Run{}, err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Run{}, err
	}
	srv := &http.Server{Handler: fairwayhttp.NewServer(l, ledger.TokenAuth{L: l}, nil)}
	go srv.Serve(ln)
	defer srv.Close()

	transport := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	url := "http://" + ln.Addr().String()
	cpu := CPUTime()
	rate, err := parallel(clients, total, func(i int64) error {
		req, err := build(url, i)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err == nil && resp.StatusCode != want {
			err = fmt.Errorf("status %s", resp.Status)
		}
		if resp != nil {
			// Drain so the connection is reused.
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return err
	})
	return Run{PerSecond: rate, CPU: CPUTime() - cpu}, err
}

// parallel runs fn for i = 1…total from workers goroutines and returns calls
// per second, or the first error.
func parallel(workers, total int, fn func(i int64) error) (float64, error) {
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(total) {
					return
				}
				if err := fn(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(total) / elapsed.Seconds(), nil
}

// LedgerWrites creates total tasks from writers goroutines straight
// through the ledger, without HTTP, and returns acknowledged writes per
// second.
func LedgerWrites(ctx context.Context, dir string, opts sqlite.Options, writers, total int) (float64, error) {
	r, err := LedgerWritesRun(ctx, dir, opts, writers, total)
	return r.PerSecond, err
}

// LedgerWritesRun is LedgerWrites with the CPU time the writes took.
func LedgerWritesRun(ctx context.Context, dir string, opts sqlite.Options, writers, total int) (Run, error) {
	l, s, as, _, err := OpenLedger(ctx, dir, opts)
	if err != nil {
		return Run{}, err
	}
	defer s.Close()
	cpu := CPUTime()
	rate, err := parallel(writers, total, func(i int64) error {
		_, err := l.CreateTask(as, fairway.TaskCreate{Key: fmt.Sprintf("W-%d", i), Title: "write", Risk: "low"})
		return err
	})
	return Run{PerSecond: rate, CPU: CPUTime() - cpu}, err
}

// Graph fills a store with tasks tasks and edges dependency edges that form
// no cycle (a blocker always sorts before what it blocks). A third of the
// tasks are done; half of the rest are open.
func Graph(ctx context.Context, s fairway.Store, tasks, edges int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed))
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const chunk = 20000
	for lo := 0; lo < tasks; lo += chunk {
		err := s.Update(ctx, func(tx fairway.Tx) error {
			for i := lo; i < min(lo+chunk, tasks); i++ {
				t := &fairway.Task{
					Key: fmt.Sprintf("G-%06d", i), Title: "graph task", Creator: "alice", Status: fairway.StatusOpen,
					Risk: fairway.Risks[rng.IntN(4)], Priority: rng.IntN(5),
					CreatedAt: at.Add(time.Duration(i) * time.Second), UpdatedAt: at,
				}
				switch r := rng.IntN(6); {
				case r < 2:
					t.Status = fairway.StatusDone
				case r == 2:
					t.Status = fairway.StatusInProgress
				case r == 3:
					t.Status, t.WaitReason = fairway.StatusBlocked, fairway.WaitCapacity
				}
				if err := tx.InsertTask(t); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return randomEdges(ctx, s, rng, "G", tasks, edges, chunk)
}

// randomEdges adds edges dependencies between distinct random tasks
// PREFIX-000000 … of tasks, each blocked by one created before it (so no
// cycle), chunk per transaction.
func randomEdges(ctx context.Context, s fairway.Store, rng *rand.Rand, prefix string, tasks, edges, chunk int) error {
	seen := map[[2]int]bool{}
	for lo := 0; lo < edges; lo += chunk {
		var pairs [][2]int
		for len(pairs) < min(chunk, edges-lo) {
			blocked := 1 + rng.IntN(tasks-1)
			blocker := rng.IntN(blocked)
			if !seen[[2]int{blocked, blocker}] {
				seen[[2]int{blocked, blocker}] = true
				pairs = append(pairs, [2]int{blocked, blocker})
			}
		}
		// The pairs are drawn before the transaction, which may run again.
		err := s.Update(ctx, func(tx fairway.Tx) error {
			for _, p := range pairs {
				if err := tx.InsertDependency(fmt.Sprintf("%s-%06d", prefix, p[0]), fmt.Sprintf("%s-%06d", prefix, p[1])); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Median returns the median of durations.
func Median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// Time runs fn n times and returns the median duration.
func Time(n int, fn func() error) (time.Duration, error) {
	var ds []time.Duration
	for range n {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return Median(ds), nil
}
