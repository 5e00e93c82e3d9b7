package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"fairway"
	"fairway/ledger"
	"fairway/sqlite"
)

// crashWriterEnv makes the test binary act as a writer that prints each
// task key once its write is acknowledged, until it is killed.
const crashWriterEnv = "FAIRWAY_TEST_CRASH_WRITER"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashWriterEnv); path != "" {
		crashWriter(path)
		return
	}
	os.Exit(m.Run())
}

func crashWriter(path string) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	l := ledger.New(s, nil)
	as := fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "alice"})
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				key := fmt.Sprintf("P%d-W%d-%d", os.Getpid(), w, i)
				if _, err := l.CreateTask(as, fairway.TaskCreate{Key: key, Title: "crash test " + crashWord(key)}); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Println(key) // os.Stdout is unbuffered: the line leaves now
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// crashWord is one search word made of a task key.
func crashWord(key string) string {
	return "k" + strings.NewReplacer("-", "x").Replace(key)
}

// TestCrash_AcknowledgedWritesSurviveKill9 kills a busy writer with SIGKILL
// several times and checks that every write it acknowledged is there, is
// found by search, and the audit chain still verifies.
func TestCrash_AcknowledgedWritesSurviveKill9(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fairway.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.New(s, nil).CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: "human"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	var acked []string
	for round, killAfter := range []int{1, 37, 250} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashWriterEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			acked = append(acked, sc.Text())
			if n++; n == killAfter {
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		// Acknowledgements already in the pipe count too.
		for sc.Scan() {
			acked = append(acked, sc.Text())
		}
		cmd.Wait()
		if n < killAfter {
			t.Fatalf("round %d: writer stopped after %d writes", round, n)
		}
	}

	s, err = sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := ledger.New(s, nil)
	for _, key := range acked {
		if _, err := l.GetTask(context.Background(), key); err != nil {
			t.Fatalf("acknowledged task %s lost after kill -9: %v", key, err)
		}
	}
	// Search finds every acknowledged write too: its text was indexed
	// in the transaction that wrote it.
	for _, key := range acked {
		hits, err := l.Search(context.Background(), fairway.SearchQuery{Text: crashWord(key)})
		if err != nil || len(hits) != 1 || hits[0].Task != key {
			t.Fatalf("search for acknowledged task %s after kill -9: %d hits %v", key, len(hits), err)
		}
	}
	v, err := l.VerifyAudit(context.Background())
	if err != nil || !v.OK {
		t.Fatalf("audit after crashes: %+v %v", v, err)
	}
	tasks, _ := l.ListTasks(context.Background(), fairway.TaskFilter{})
	if v.Events != int64(len(tasks))+1 {
		t.Fatalf("audit has %d events for %d tasks: a write and its event were split", v.Events, len(tasks))
	}
	t.Logf("%d acknowledged writes survived 3 kills (%d tasks on disk)", len(acked), len(tasks))
}
