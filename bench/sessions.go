package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"fairway"
	"fairway/ledger"
	"fairway/provider"
	"fairway/sqlite"
)

// SessionFixture is a store holding n tasks, each with one live session
// of the agent codex whose recorded process is alive (this one), so a
// restarting server's reconciliation keeps them.
type SessionFixture struct {
	Dir    string
	IDs    []string
	Tokens []string
	// Alice is a human's bearer token, for the no-op baseline.
	Alice string
}

// NewSessionFixture builds the fixture in dir, leaving the store closed.
func NewSessionFixture(ctx context.Context, dir string, n int) (*SessionFixture, error) {
	l, s, alice, token, err := OpenLedger(ctx, dir, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	fx := &SessionFixture{Dir: dir, Alice: token}
	if _, err := l.CreateActor(alice, fairway.ActorCreate{Name: "codex", Kind: fairway.KindAgent}); err != nil {
		return nil, err
	}
	codex := fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "codex", Kind: fairway.KindAgent})
	start, err := provider.ProcessStart(os.Getpid())
	if err != nil {
		return nil, err
	}
	for i := range n {
		key := fmt.Sprintf("S-%d", i)
		if _, err := l.CreateTask(alice, fairway.TaskCreate{Key: key, Title: "session bench", Risk: "low"}); err != nil {
			return nil, err
		}
		att, err := l.AttachSession(codex, fairway.SessionAttach{Task: key, Provider: "shell", PID: os.Getpid(), PIDStart: start, LeaseTTL: fairway.MaxLeaseTTL})
		if err != nil {
			return nil, err
		}
		fx.IDs, fx.Tokens = append(fx.IDs, att.Session.ID), append(fx.Tokens, att.Token)
	}
	return fx, nil
}

// Server is a `fairway serve` child process on the fixture's store.
type Server struct {
	URL string
	cmd *exec.Cmd
}

// StartServer runs exe serve on dir on a free loopback port and waits
// until it listens.
func StartServer(exe, dir string) (*Server, error) {
	cmd := exec.Command(exe, "serve", "--addr", "127.0.0.1:0", "--dir", dir)
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	go io.Copy(io.Discard, out)
	_, rest, ok := strings.Cut(line, "http://")
	if err != nil || !ok {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("serve printed %q: %v", line, err)
	}
	addr, _, _ := strings.Cut(rest, " ")
	return &Server{URL: "http://" + addr, cmd: cmd}, nil
}

// Stop ends the server.
func (s *Server) Stop() {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// CPUTime is the user and system CPU time the server process has used.
func (s *Server) CPUTime() (time.Duration, error) { return processCPU(s.cmd.Process.Pid) }

// processCPU reads a process's user plus system time from /proc (fields
// 14 and 15 of its stat, in clock ticks of 1/100 s on Linux).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unexpected stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("unexpected stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// Heartbeats sends total heartbeats to the server from clients concurrent
// clients, each session's with its own credential in turn, and returns
// heartbeats per second and the server's CPU time for them.
func (fx *SessionFixture) Heartbeats(ctx context.Context, srv *Server, clients, total int) (float64, time.Duration, error) {
	return fx.requests(ctx, srv, clients, total, func(i int64) (*http.Request, string, error) {
		k := int(i) % len(fx.IDs)
		req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/v1/sessions/"+fx.IDs[k]+"/heartbeat", strings.NewReader("{}"))
		return req, fx.Tokens[k], err
	})
}

// Noops sends total authenticated requests that change nothing (who am
// I), the baseline a heartbeat is judged against.
func (fx *SessionFixture) Noops(ctx context.Context, srv *Server, clients, total int) (float64, time.Duration, error) {
	return fx.requests(ctx, srv, clients, total, func(int64) (*http.Request, string, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/whoami", nil)
		return req, fx.Alice, err
	})
}

func (fx *SessionFixture) requests(ctx context.Context, srv *Server, clients, total int, build func(i int64) (*http.Request, string, error)) (float64, time.Duration, error) {
	transport := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	before, err := srv.CPUTime()
	if err != nil {
		return 0, 0, err
	}
	var failed atomic.Int64
	rate, err := parallel(clients, total, func(i int64) error {
		req, token, err := build(i)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			failed.Add(1)
			return fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	after, err := srv.CPUTime()
	if err != nil {
		return 0, 0, err
	}
	return rate, after - before, nil
}

// Reconcile times restart reconciliation over the fixture's sessions,
// opening the store in-process: first with every process confirmed
// alive (reads and liveness checks only), then with every one reported
// gone (each session interrupted: one durable write each).
func (fx *SessionFixture) Reconcile(ctx context.Context) (alive, dead time.Duration, n int, err error) {
	s, err := sqlite.Open(ctx, filepath.Join(fx.Dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		return 0, 0, 0, err
	}
	defer s.Close()
	l := ledger.New(s, nil)
	start := time.Now()
	out, err := l.Reconcile(ctx, provider.Liveness)
	if err != nil {
		return 0, 0, 0, err
	}
	if len(out) != 0 {
		return 0, 0, 0, fmt.Errorf("%d live sessions were interrupted", len(out))
	}
	alive = time.Since(start)
	start = time.Now()
	out, err = l.Reconcile(ctx, func(context.Context, *fairway.Session) (bool, string) { return false, "bench: reported gone" })
	if err != nil {
		return 0, 0, 0, err
	}
	return alive, time.Since(start), len(out), nil
}

// PacedHeartbeats has every session heartbeat once, spread evenly over
// period, as live sessions heartbeating every period do, and returns the
// server's CPU time over the period and the wall time it took.
func (fx *SessionFixture) PacedHeartbeats(ctx context.Context, srv *Server, period time.Duration) (cpu, wall time.Duration, err error) {
	return fx.paced(ctx, srv, period, func(k int) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/v1/sessions/"+fx.IDs[k]+"/heartbeat", strings.NewReader("{}"))
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+fx.Tokens[k])
		}
		return req, err
	})
}

// PacedNoops sends as many authenticated requests that change nothing
// (who am I) at the same pace: the CPU a heartbeat's HTTP, JSON and
// credential check cost without its write.
func (fx *SessionFixture) PacedNoops(ctx context.Context, srv *Server, period time.Duration) (cpu, wall time.Duration, err error) {
	return fx.paced(ctx, srv, period, func(int) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/whoami", nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+fx.Alice)
		}
		return req, err
	})
}

func (fx *SessionFixture) paced(ctx context.Context, srv *Server, period time.Duration, build func(k int) (*http.Request, error)) (cpu, wall time.Duration, err error) {
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	before, err := srv.CPUTime()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	errs := make(chan error, len(fx.IDs))
	for k := range fx.IDs {
		time.Sleep(time.Until(start.Add(period * time.Duration(k) / time.Duration(len(fx.IDs)))))
		go func() {
			req, err := build(k)
			if err == nil {
				var resp *http.Response
				if resp, err = client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
					}
				}
			}
			errs <- err
		}()
	}
	for range fx.IDs {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	time.Sleep(time.Until(start.Add(period)))
	wall = time.Since(start)
	after, cerr := srv.CPUTime()
	if err == nil {
		err = cerr
	}
	return after - before, wall, err
}
