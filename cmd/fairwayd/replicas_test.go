package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fairway"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/postgres"

	"github.com/anishathalye/porcupine"
	"github.com/jackc/pgx/v5"
)

// postgresSchemaURL makes a schema of its own for one test on the server
// named by FAIRWAY_TEST_POSTGRES, drops it when the test ends, and returns
// a store URL whose search_path is that schema. Without the variable the
// test is skipped (CI sets it).
func postgresSchemaURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("FAIRWAY_TEST_POSTGRES")
	if base == "" {
		t.Skip("PostgreSQL tests need a server: set FAIRWAY_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)")
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "fairway_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// replica is one `fairway serve` process.
type replica struct {
	name string
	url  string
	cmd  *exec.Cmd
	log  string
}

// startReplica starts `fairway serve` on store on a free loopback port and
// waits until it says where it serves. Each replica has a folder of its
// own, as one on another machine would.
func startReplica(t *testing.T, name, store string) *replica {
	t.Helper()
	dir := t.TempDir()
	cmd := fairwayCommand(dir, "serve", "--addr", "127.0.0.1:0", "--store", store)
	logPath := filepath.Join(dir, "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logFile.Close()
	r := &replica{name: name, cmd: cmd, log: logPath}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := lines.Text()
		if rest, ok := strings.CutPrefix(line, "Fairway is serving "); ok {
			r.url, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	if r.url == "" {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("replica %s did not start: %s", name, b)
	}
	go func() {
		for lines.Scan() {
		}
	}()
	return r
}

// op is one client operation as the client saw it: when it was invoked,
// when its answer came, and what the answer was.
type op struct {
	client  int
	replica int
	kind    string // create, update, take, read, dep
	key     string
	other   string // dep: the blocker; update: the new title
	actor   string
	call    int64
	ret     int64
	ok      bool   // a 2xx answer
	unknown bool   // no answer (transport error or internal error): it may or may not have happened
	owner   string // read: the owner seen
	err     error
}

// takeInput and takeOutput are the linearizability model's operations on
// one task's owner register: take is a compare-and-set from no owner (or
// the caller) to the caller; read returns the owner.
type takeInput struct {
	read  bool
	key   string
	actor string
}

type takeOutput struct {
	ok      bool
	unknown bool
	owner   string
}

// ownerModel is a task's owner as a register with take = compare-and-set,
// partitioned by task.
var ownerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, o := range history {
			k := o.Input.(takeInput).key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], o)
		}
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		owner, in, out := state.(string), input.(takeInput), output.(takeOutput)
		if in.read {
			return out.owner == owner, owner
		}
		free := owner == "" || owner == in.actor
		switch {
		case out.unknown: // linearized where it took effect, or after everything
			if free {
				return true, in.actor
			}
			return true, owner
		case out.ok:
			return free, in.actor
		default:
			return !free, owner
		}
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(takeInput), output.(takeOutput)
		if in.read {
			return fmt.Sprintf("read(%s) -> %q", in.key, out.owner)
		}
		return fmt.Sprintf("take(%s, %s) -> ok=%v unknown=%v", in.key, in.actor, out.ok, out.unknown)
	},
}

// sseEvent is one event of /api/v1/events as a follower received it.
type sseEvent struct {
	seq     int64
	action  string
	subject string
	actor   string
}

// follow reads the event stream of base after event after until ctx
// ends, appending every event to got.
func follow(ctx context.Context, base, token string, after int64, mu *sync.Mutex, got *[]sseEvent) error {
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/events?after=%d", base, after), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("events: %s", resp.Status)
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 1<<20), 1<<24)
	for lines.Scan() {
		data, ok := strings.CutPrefix(lines.Text(), "data: ")
		if !ok {
			continue
		}
		var e fairway.AuditEvent
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return err
		}
		mu.Lock()
		*got = append(*got, sseEvent{e.Seq, e.Action, e.Subject, e.Actor})
		mu.Unlock()
	}
	return nil
}

// TestReplicas_ThreeServeProcesses starts three `fairway serve` processes
// on one PostgreSQL schema and drives 32 clients at them at random:
// creates, title updates, takes of contested tasks, reads and dependency
// adds. One replica is killed with SIGKILL halfway. Then: the audit chain
// is one verified chain; every acknowledged write is in the store; each
// contested task has at most one taker, the one the store names; no
// dependency cycle exists; the takes and reads are linearizable; and a
// client following the events of replica B saw every event, the writes
// acknowledged by replica A among them, in the order A acknowledged them;
// and once the killed replica is back, a follower resuming on it from its
// last event id misses nothing.
func TestReplicas_ThreeServeProcesses(t *testing.T) {
	store := postgresSchemaURL(t)
	t.Parallel()
	ctx := context.Background()

	boot := fairwayCommand(t.TempDir(), "actor", "create", "alice", "--kind", "human", "--json")
	boot.Env = append(boot.Env, "FAIRWAY_STORE="+store)
	out, err := boot.Output()
	if err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, out)
	}
	var alice fairway.ActorCreated
	if err := json.Unmarshal(out, &alice); err != nil || alice.Token == "" {
		t.Fatalf("bootstrap answer %s: %v", out, err)
	}

	reps := []*replica{startReplica(t, "A", store), startReplica(t, "B", store), startReplica(t, "C", store)}
	const victim = 2 // C is killed halfway
	admin := fairwayhttp.NewClient(reps[0].url, alice.Token)

	const clients, opsEach, contested, graph = 32, 24, 12, 10
	tokens := make([]string, clients)
	for c := range clients {
		created, err := admin.CreateActor(ctx, fairway.ActorCreate{Name: fmt.Sprintf("agent-%02d", c), Kind: fairway.KindAgent, IssueToken: true})
		if err != nil {
			t.Fatal(err)
		}
		tokens[c] = created.Token
	}
	for i := range contested {
		if _, err := admin.CreateTask(ctx, fairway.TaskCreate{Key: fmt.Sprintf("CT-%d", i), Title: "contested"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range graph {
		if _, err := admin.CreateTask(ctx, fairway.TaskCreate{Key: fmt.Sprintf("G-%d", i), Title: "graph"}); err != nil {
			t.Fatal(err)
		}
	}

	// A follower on replica B, from the first event on.
	var evMu sync.Mutex
	var events []sseEvent
	fctx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	followed := make(chan error, 1)
	go func() { followed <- follow(fctx, reps[1].url, alice.Token, 0, &evMu, &events) }()

	t0 := time.Now()
	now := func() int64 { return int64(time.Since(t0)) }
	var (
		histMu  sync.Mutex
		history []op
		done    atomic.Int64
		killed  atomic.Bool
		killAt  = int64(clients * opsEach / 2)
		wg      sync.WaitGroup
		onVicti atomic.Int64 // writes the victim acknowledged
	)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mathrand.New(mathrand.NewPCG(uint64(c), 9))
			actor := fmt.Sprintf("agent-%02d", c)
			svcs := make([]*fairwayhttp.Client, len(reps))
			for i, r := range reps {
				svcs[i] = fairwayhttp.NewClient(r.url, tokens[c])
			}
			var mine []string
			version := 0
			for i := range opsEach {
				r := rng.IntN(len(reps))
				if killed.Load() && r == victim {
					r = rng.IntN(victim)
				}
				svc := svcs[r]
				o := op{client: c, replica: r, actor: actor}
				roll := rng.IntN(100)
				switch {
				case roll < 20 || (roll < 35 && len(mine) == 0):
					o.kind, o.key = "create", fmt.Sprintf("K-%02d-%02d", c, i)
				case roll < 35:
					version++
					o.kind, o.key, o.other = "update", mine[rng.IntN(len(mine))], fmt.Sprintf("v%d", version)
				case roll < 60:
					o.kind, o.key = "take", fmt.Sprintf("CT-%d", rng.IntN(contested))
				case roll < 80:
					o.kind, o.key = "read", fmt.Sprintf("CT-%d", rng.IntN(contested))
				case roll < 92:
					a, b := rng.IntN(graph), rng.IntN(graph-1)
					if b >= a {
						b++
					}
					o.kind, o.key, o.other = "dep", fmt.Sprintf("G-%d", a), fmt.Sprintf("G-%d", b)
				default:
					o.kind = "list"
				}
				o.call = now()
				switch o.kind {
				case "create":
					_, o.err = svc.CreateTask(ctx, fairway.TaskCreate{Key: o.key, Title: "v0"})
				case "update":
					_, o.err = svc.UpdateTask(ctx, o.key, fairway.TaskUpdate{Title: &o.other})
				case "take":
					_, o.err = svc.TakeTask(ctx, o.key)
				case "read":
					var task *fairway.Task
					if task, o.err = svc.GetTask(ctx, o.key); o.err == nil {
						o.owner = task.Owner
					}
				case "dep":
					o.err = svc.AddDependency(ctx, o.key, o.other)
				case "list":
					_, o.err = svc.Next(ctx, fairway.NextFilter{})
				}
				o.ret = now()
				o.ok = o.err == nil
				o.unknown = o.err != nil && fairway.ErrorCode(o.err) == fairway.EINTERNAL
				if o.kind == "create" && o.ok {
					mine = append(mine, o.key)
				}
				if o.ok && r == victim && o.kind != "read" && o.kind != "list" {
					onVicti.Add(1)
				}
				histMu.Lock()
				history = append(history, o)
				histMu.Unlock()
				if done.Add(1) == killAt {
					// Kill the victim while requests are in flight to it.
					go func() {
						killed.Store(true)
						reps[victim].cmd.Process.Kill()
					}()
				}
			}
		}()
	}
	wg.Wait()
	if !killed.Load() {
		t.Fatal("the victim was never killed")
	}
	if onVicti.Load() == 0 {
		t.Fatal("the victim acknowledged no write before it was killed: the kill proves nothing")
	}

	// Every answer is either a success, a refusal the rules explain, or
	// (only from the killed replica) no answer at all.
	for _, o := range history {
		if o.unknown && o.replica != victim {
			t.Fatalf("%s %s on live replica %s: %v", o.kind, o.key, reps[o.replica].name, o.err)
		}
		if o.err != nil && !o.unknown {
			switch code := fairway.ErrorCode(o.err); {
			case o.kind == "take" && code == fairway.ECONFLICT:
			case o.kind == "dep" && code == fairway.ECONFLICT:
			default:
				t.Fatalf("%s %s %s by %s: %v", o.kind, o.key, o.other, o.actor, o.err)
			}
		}
	}

	// The live replicas are ready and report their store's writes; the
	// killed one answers nothing.
	for i, r := range reps {
		resp, err := http.Get(r.url + "/readyz")
		if i == victim {
			if err == nil {
				resp.Body.Close()
				t.Fatalf("the killed replica still answers /readyz: %s", resp.Status)
			}
			continue
		}
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("replica %s /readyz: %v %v", r.name, resp, err)
		}
		resp.Body.Close()
		resp, err = http.Get(r.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{"fairway_store_batch_writes_count ", "fairway_store_commit_seconds_bucket{le=", "fairway_store_pool_in_use_connections ", `route="/api/v1/tasks/{key}/take",status="200"`} {
			if !strings.Contains(string(body), want) {
				t.Fatalf("replica %s /metrics lacks %q", r.name, want)
			}
		}
	}

	// The chain: `fairway audit verify` in its own process, as an operator
	// would run it.
	verify := fairwayCommand(t.TempDir(), "audit", "verify", "--json")
	verify.Env = append(verify.Env, "FAIRWAY_STORE="+store)
	out, err = verify.Output()
	if err != nil {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	var v fairway.AuditVerification
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("audit verify answer %s: %v", out, err)
	}
	if !v.OK || v.Events != v.Head.Seq || v.Events < int64(len(history)/3) {
		t.Fatalf("audit verify = %+v, want one verified chain", v)
	}

	s, err := postgres.Open(ctx, store, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := ledger.New(s, nil)

	// Every acknowledged write is there, the killed replica's included.
	lastTitle := map[string]string{}     // task → title of its last acknowledged update
	laterTitles := map[string][]string{} // task → titles of updates with no answer (the killed replica's)
	takers := map[string]map[string]bool{}
	for _, o := range history {
		switch {
		case o.kind == "create" && o.ok:
			if _, ok := lastTitle[o.key]; !ok {
				lastTitle[o.key] = "v0"
			}
		case o.kind == "update" && o.ok:
			lastTitle[o.key] = o.other
		case o.kind == "update" && o.unknown:
			laterTitles[o.key] = append(laterTitles[o.key], o.other)
		case o.kind == "take" && o.ok:
			if takers[o.key] == nil {
				takers[o.key] = map[string]bool{}
			}
			takers[o.key][o.actor] = true
		case o.kind == "dep" && o.ok:
			deps, err := l.Dependencies(ctx, o.key)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(deps.BlockedBy, func(b *fairway.Task) bool { return b.Key == o.other }) {
				t.Errorf("acknowledged dependency %s on %s (replica %s) is missing", o.key, o.other, reps[o.replica].name)
			}
		}
	}
	for key, title := range lastTitle {
		task, err := l.GetTask(ctx, key)
		if err != nil {
			t.Errorf("acknowledged task %s: %v", key, err)
			continue
		}
		if task.Title != title && !slices.Contains(laterTitles[key], task.Title) {
			t.Errorf("task %s has title %q; its last acknowledged update set %q", key, task.Title, title)
		}
	}
	// Exactly one winner per contested task that anyone won.
	won := 0
	for i := range contested {
		key := fmt.Sprintf("CT-%d", i)
		task, err := l.GetTask(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(takers[key]) > 1 {
			t.Errorf("%s was taken by %d actors (%v)", key, len(takers[key]), takers[key])
		}
		for who := range takers[key] {
			won++
			if task.Owner != who || task.Status != fairway.StatusInProgress {
				t.Errorf("%s: %s was told it took the task, but the owner is %q (%s)", key, who, task.Owner, task.Status)
			}
		}
		// Whoever owns it was told so, or never heard back (the killed
		// replica); and a refused take means someone had won.
		if task.Owner != "" && !takers[key][task.Owner] && !slices.ContainsFunc(history, func(o op) bool {
			return o.kind == "take" && o.key == key && o.actor == task.Owner && o.unknown
		}) {
			t.Errorf("%s is owned by %s, who was never told it took it", key, task.Owner)
		}
		if task.Owner == "" && slices.ContainsFunc(history, func(o op) bool { return o.kind == "take" && o.key == key && !o.ok && !o.unknown }) {
			t.Errorf("%s has no owner, yet a take of it was refused", key)
		}
	}
	if won == 0 {
		t.Fatal("no contested task was taken: the run proves nothing about claims")
	}

	// No dependency cycle among the graph tasks.
	edges := map[string][]string{}
	nEdges := 0
	for i := range graph {
		key := fmt.Sprintf("G-%d", i)
		deps, err := l.Dependencies(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range deps.BlockedBy {
			edges[key] = append(edges[key], b.Key)
			nEdges++
		}
	}
	if nEdges == 0 {
		t.Fatal("no dependency was added: the run proves nothing about cycles")
	}
	state := map[string]int{} // 1 on the path, 2 done
	var visit func(k string, path []string)
	visit = func(k string, path []string) {
		switch state[k] {
		case 1:
			t.Fatalf("dependency cycle: %v", append(path, k))
		case 2:
			return
		}
		state[k] = 1
		for _, n := range edges[k] {
			visit(n, append(path, k))
		}
		state[k] = 2
	}
	for i := range graph {
		visit(fmt.Sprintf("G-%d", i), nil)
	}

	// Takes and reads of the contested tasks are linearizable.
	var ops []porcupine.Operation
	for _, o := range history {
		if o.kind != "take" && o.kind != "read" {
			continue
		}
		if o.kind == "read" && !o.ok {
			continue // a read with no answer observed nothing
		}
		ret := o.ret
		if o.unknown {
			ret = 1<<63 - 1 // it may have taken effect at any time after its call
		}
		ops = append(ops, porcupine.Operation{
			ClientId: o.client, Call: o.call, Return: ret,
			Input:  takeInput{read: o.kind == "read", key: o.key, actor: o.actor},
			Output: takeOutput{ok: o.ok, unknown: o.unknown, owner: o.owner},
		})
	}
	if !porcupine.CheckOperations(ownerModel, ops) {
		t.Fatalf("the history of %d takes and reads is not linearizable", len(ops))
	}

	// The follower on B saw the whole log, in order, through to the head.
	deadline := time.Now().Add(30 * time.Second)
	for {
		evMu.Lock()
		n := len(events)
		evMu.Unlock()
		if int64(n) >= v.Head.Seq || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopFollow()
	<-followed
	evMu.Lock()
	seen := slices.Clone(events)
	evMu.Unlock()
	if int64(len(seen)) != v.Head.Seq {
		t.Fatalf("the follower on B saw %d events, the log has %d", len(seen), v.Head.Seq)
	}
	seqOf := map[string]int64{} // action subject actor → seq (creates are unique)
	for i, e := range seen {
		if e.seq != int64(i+1) {
			t.Fatalf("event %d of the stream has seq %d: the stream is not the log in order", i+1, e.seq)
		}
		seqOf[e.action+" "+e.subject+" "+e.actor] = e.seq
	}
	var onA []op
	for _, o := range history {
		if o.replica == 0 && o.ok && o.kind == "create" {
			onA = append(onA, o)
			if seqOf["task.create "+o.key+" "+o.actor] == 0 {
				t.Fatalf("the follower on B never saw %s's create of %s, acknowledged by A", o.actor, o.key)
			}
		}
	}
	if len(onA) < 5 {
		t.Fatalf("only %d creates went through A: too few to check their order", len(onA))
	}
	for _, x := range onA {
		for _, y := range onA {
			if x.ret < y.call && seqOf["task.create "+x.key+" "+x.actor] > seqOf["task.create "+y.key+" "+y.actor] {
				t.Fatalf("A acknowledged %s before %s was sent, but B's stream has them the other way round", x.key, y.key)
			}
		}
	}
	// The killed replica comes back on the same database; a client that
	// had followed it resumes from the last event it saw and misses
	// nothing, and a write through the new process reaches it.
	restarted := startReplica(t, "C2", store)
	resumeAt := v.Head.Seq / 2
	var rMu sync.Mutex
	var resumed []sseEvent
	rctx, stopResume := context.WithCancel(ctx)
	defer stopResume()
	resumedDone := make(chan error, 1)
	go func() { resumedDone <- follow(rctx, restarted.url, alice.Token, resumeAt, &rMu, &resumed) }()
	if _, err := fairwayhttp.NewClient(restarted.url, alice.Token).CreateTask(ctx, fairway.TaskCreate{Key: "AFTER-RESTART", Title: "through the restarted replica"}); err != nil {
		t.Fatal(err)
	}
	want := v.Head.Seq + 1 - resumeAt
	deadline = time.Now().Add(30 * time.Second)
	for {
		rMu.Lock()
		n := len(resumed)
		rMu.Unlock()
		if int64(n) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopResume()
	<-resumedDone
	if int64(len(resumed)) != want {
		t.Fatalf("the follower resuming at %d on the restarted replica saw %d events, want %d", resumeAt, len(resumed), want)
	}
	for i, e := range resumed {
		if e.seq != resumeAt+int64(i)+1 {
			t.Fatalf("resumed stream event %d has seq %d, want %d", i, e.seq, resumeAt+int64(i)+1)
		}
	}
	if last := resumed[len(resumed)-1]; last.action != "task.create" || last.subject != "AFTER-RESTART" {
		t.Fatalf("the resumed stream ends with %+v, want the create made after the restart", last)
	}

	unknown := 0
	for _, o := range history {
		if o.unknown {
			unknown++
		}
	}
	t.Logf("%d operations (%d without an answer from the killed replica), %d events, %d writes acknowledged by the killed replica, %d takes won, %d edges, %d creates through A",
		len(history), unknown, v.Head.Seq, onVicti.Load(), won, nEdges, len(onA))
}

// The model refuses what a broken store would do: two actors both told
// they took one task, or a read that misses a take that had returned.
func TestOwnerModel_RefusesLostClaims(t *testing.T) {
	take := func(actor string, call, ret int64, ok bool) porcupine.Operation {
		return porcupine.Operation{Call: call, Return: ret, Input: takeInput{key: "T", actor: actor}, Output: takeOutput{ok: ok}}
	}
	read := func(owner string, call, ret int64) porcupine.Operation {
		return porcupine.Operation{Call: call, Return: ret, Input: takeInput{read: true, key: "T"}, Output: takeOutput{ok: true, owner: owner}}
	}
	unknown := porcupine.Operation{Call: 0, Return: 1<<63 - 1, Input: takeInput{key: "T", actor: "c"}, Output: takeOutput{unknown: true}}
	cases := []struct {
		name    string
		history []porcupine.Operation
		want    bool
	}{
		{"one winner", []porcupine.Operation{take("a", 0, 10, true), take("b", 5, 15, false), read("a", 20, 30)}, true},
		{"two winners", []porcupine.Operation{take("a", 0, 10, true), take("b", 5, 15, true)}, false},
		{"stale read", []porcupine.Operation{take("a", 0, 10, true), read("", 20, 30)}, false},
		{"a loser with no winner", []porcupine.Operation{take("b", 0, 10, false), read("", 20, 30)}, false},
		{"an unanswered take that happened", []porcupine.Operation{unknown, read("c", 20, 30), take("a", 40, 50, false)}, true},
		{"an unanswered take that did not", []porcupine.Operation{unknown, read("", 20, 30), take("a", 40, 50, true)}, true},
	}
	for _, c := range cases {
		if got := porcupine.CheckOperations(ownerModel, c.history); got != c.want {
			t.Errorf("%s: linearizable = %v, want %v", c.name, got, c.want)
		}
	}
}
