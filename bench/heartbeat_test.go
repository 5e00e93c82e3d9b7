package bench_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fairway/bench"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/sqlite"
)

// benchServe serves a session fixture of n sessions in this process, for
// a CPU profile of what a request costs the server.
func benchServe(b *testing.B, n int) (*bench.SessionFixture, string, func()) {
	ctx := context.Background()
	fx, err := bench.NewSessionFixture(ctx, b.TempDir(), n)
	if err != nil {
		b.Fatal(err)
	}
	s, err := sqlite.Open(ctx, filepath.Join(fx.Dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	l := ledger.New(s, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: fairwayhttp.NewServer(l, ledger.TokenAuth{L: l}, nil)}
	go srv.Serve(ln)
	return fx, "http://" + ln.Addr().String(), func() { srv.Close(); s.Close() }
}

// BenchmarkHeartbeatSerial sends heartbeats one at a time, each its own
// commit, as sessions heartbeating every 10 s do: profile it with
// -cpuprofile. BenchmarkNoopSerial is its baseline.
func BenchmarkHeartbeatSerial(b *testing.B) {
	fx, url, stop := benchServe(b, 200)
	defer stop()
	client := &http.Client{}
	defer reportCPU(b)()
	i := 0
	for b.Loop() {
		k := i % len(fx.IDs)
		i++
		req, _ := http.NewRequest("POST", url+"/api/v1/sessions/"+fx.IDs[k]+"/heartbeat", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+fx.Tokens[k])
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}

// BenchmarkNoopSerial sends authenticated requests that change nothing
// (who am I), one at a time, to the same kind of server.
func BenchmarkNoopSerial(b *testing.B) {
	fx, url, stop := benchServe(b, 10)
	defer stop()
	client := &http.Client{}
	defer reportCPU(b)()
	for b.Loop() {
		req, _ := http.NewRequest("GET", url+"/api/v1/whoami", nil)
		req.Header.Set("Authorization", "Bearer "+fx.Alice)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}

// reportCPU reports the process's CPU time (user and system, client and
// server both) per operation, from now until the returned function runs:
// on a shared machine a steadier figure than the time per operation.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		b.ReportMetric(float64((cpu()-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}
