package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The tests run the real binaries: the front and the engine, built once
// into one folder as `go build -o bin/ ./cmd/...` lays them out.
var binDir string

func TestMain(m *testing.M) {
	if allowed := os.Getenv(landlockEnv); allowed != "" {
		landlocked(allowed)
	}
	dir, err := os.MkdirTemp("", "fairway-front-test-")
	if err != nil {
		panic(err)
	}
	// Without the race detector: a raced engine starts ten times slower,
	// and the daemon's concurrency is raced in process by cmd/fairwayd's
	// tests.
	out, err := exec.Command("go", "build", "-o", dir+"/", "fairway/cmd/fairway", "fairway/cmd/fairwayd").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building fairway and fairwayd: %v\n%s", err, out)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// world is one test's machine: a private runtime folder for the daemon's
// socket and the environment every command gets.
type world struct {
	t       *testing.T
	runtime string
	env     []string
}

func newWorld(t *testing.T, extra ...string) *world {
	t.Helper()
	// A short path of its own (a unix socket path holds 107 bytes), 0700
	// as XDG_RUNTIME_DIR is.
	runtime, err := os.MkdirTemp("", "fwrt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runtime) })
	w := &world{t: t, runtime: runtime, env: append([]string{
		"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "TMPDIR=" + os.TempDir(),
		"XDG_RUNTIME_DIR=" + runtime, "FAIRWAY_DAEMON_IDLE=2m",
	}, extra...)}
	t.Cleanup(w.stopDaemons)
	return w
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs bin/fairway ARGS in dir with stdin, the world's environment
// and env on top.
func (w *world) run(dir, stdin string, env []string, args ...string) result {
	w.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "fairway"), args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string(nil), w.env...), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		w.t.Fatalf("fairway %v: %v", args, err)
	}
	return result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}
}

// sockets lists the daemons' sockets in the world's socket folder.
func (w *world) sockets() []string {
	got, _ := filepath.Glob(filepath.Join(w.runtime, "fairway", "*.sock"))
	return got
}

// warm starts the daemon (a first command misses and starts it) and
// waits until it answers.
func (w *world) warm(dir string) {
	w.t.Helper()
	w.run(dir, "", nil, "version")
	for i := 0; i < 400; i++ {
		if r := w.run(dir, "", []string{"FAIRWAY_DAEMON=require"}, "version"); r.code == 0 {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	w.t.Fatalf("the daemon never answered; sockets: %v", w.sockets())
}

// daemon warms the daemon and returns its one socket and its pid.
func (w *world) daemon(dir string) (string, int) {
	w.t.Helper()
	w.warm(dir)
	socks := w.sockets()
	if len(socks) != 1 {
		w.t.Fatalf("sockets %v, want one", socks)
	}
	pid, err := daemonPID(socks[0])
	if err != nil {
		w.t.Fatal(err)
	}
	return socks[0], pid
}

// daemonPID asks the socket who serves it.
func daemonPID(socket string) (int, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return 0, err
	}
	defer syscall.Close(fd)
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: socket}); err != nil {
		return 0, err
	}
	cred, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil {
		return 0, err
	}
	return int(cred.Pid), nil
}

// stopDaemons ends the daemons this world started, by their pid.
func (w *world) stopDaemons() {
	for _, s := range w.sockets() {
		pid, err := daemonPID(s)
		if err != nil || pid <= 0 {
			continue
		}
		syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 200 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(25 * time.Millisecond)
		}
	}
}

// ledger makes a store in dir/.fairway with alice (human), codex (agent),
// two tasks and a dependency, without the daemon.
func (w *world) ledger(dir string) {
	w.t.Helper()
	off := []string{"FAIRWAY_DAEMON=off"}
	for _, args := range [][]string{
		{"actor", "create", "alice", "--kind", "human"},
		{"actor", "create", "codex", "--kind", "agent", "--as", "alice", "--no-token"},
		{"task", "create", "T-1", "--title", "first", "--as", "alice"},
		{"task", "create", "T-2", "--title", "waits on the first", "--as", "alice"},
		{"dep", "add", "T-2", "T-1", "--as", "alice"},
	} {
		if r := w.run(dir, "", off, args...); r.code != 0 {
			w.t.Fatalf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
}

func TestFront_SameOutputAndExitCodeThroughDaemonAndExec(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	w.ledger(dir)
	w.warm(dir)
	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"help"}, 0},
		{[]string{"help", "task", "list"}, 0},
		{[]string{"task"}, 0},
		{[]string{"version"}, 0},
		{[]string{"task", "list"}, 0},
		{[]string{"task", "list", "--json"}, 0},
		{[]string{"task", "show", "T-2"}, 0},
		{[]string{"task", "show", "NOPE-1"}, 3},
		{[]string{"task", "show"}, 2},
		{[]string{"task", "list", "--no-such-flag"}, 2},
		{[]string{"next"}, 0},
		{[]string{"dep", "list", "T-2"}, 0},
		{[]string{"gate", "explain", "T-1"}, 0},
		{[]string{"actor", "whoami", "--as", "codex"}, 0},
		{[]string{"actor", "list"}, 0},
		{[]string{"prime", "--as", "codex"}, 0},
		{[]string{"search", "first"}, 0},
		{[]string{"task", "take", "T-1", "--as", "nobody"}, 7},
	} {
		daemonRun := w.run(dir, "", []string{"FAIRWAY_DAEMON=require"}, c.args...)
		direct := w.run(dir, "", []string{"FAIRWAY_DAEMON=off"}, c.args...)
		if daemonRun != direct {
			t.Errorf("fairway %v through the daemon:\n%+v\nby exec:\n%+v", c.args, daemonRun, direct)
		}
		if daemonRun.code != c.code {
			t.Errorf("fairway %v: exit %d, want %d\n%s%s", c.args, daemonRun.code, c.code, daemonRun.stdout, daemonRun.stderr)
		}
	}
	// A write through the daemon lands in the same store.
	if r := w.run(dir, "", []string{"FAIRWAY_DAEMON=require"}, "task", "take", "T-1", "--as", "codex"); r.code != 0 || r.stdout != "T-1 is in_progress, owned by codex\n" {
		t.Fatalf("task take through the daemon: %+v", r)
	}
	if r := w.run(dir, "", []string{"FAIRWAY_DAEMON=off"}, "task", "show", "T-1", "--json"); !strings.Contains(r.stdout, `"status": "in_progress"`) {
		t.Fatalf("the take is not in the store:\n%s", r.stdout)
	}
}

func TestFront_StandardInputReachesTheCommand(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	w.warm(dir)
	require := []string{"FAIRWAY_DAEMON=require"}
	r := w.run(dir, "not json", require, "hook", "claude")
	if r.code != 1 || !strings.Contains(r.stderr, "is not a Claude Code hook event") || !strings.Contains(r.stderr, "invalid character 'o'") {
		t.Fatalf("hook claude with bad JSON on stdin: %+v", r)
	}
	r = w.run(dir, `{"session_id":"s-1","hook_event_name":"Stop"}`, require, "hook", "claude")
	if r.code != 0 || r.stderr != "fairway: not in a Fairway session ($FAIRWAY_SESSION is not set); nothing recorded\n" {
		t.Fatalf("hook claude with an event on stdin: %+v", r)
	}
}

func TestFront_EnvironmentIsPerRequest(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	w.ledger(dir)
	w.warm(dir)
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for i := range 40 {
		actor, want := "alice", "alice (human)\n"
		if i%2 == 1 {
			actor, want = "codex", "codex (agent)\n"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := w.run(dir, "", []string{"FAIRWAY_DAEMON=require", "FAIRWAY_ACTOR=" + actor}, "actor", "whoami")
			if r.code != 0 || r.stdout != want {
				errs <- fmt.Sprintf("FAIRWAY_ACTOR=%s: %+v", actor, r)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// A session credential is read from the request, not remembered: a
	// bad one is refused, and the next request without one is not.
	r := w.run(dir, "", []string{"FAIRWAY_DAEMON=require", "FAIRWAY_SESSION_TOKEN=fws_not-a-token", "FAIRWAY_ACTOR=codex"}, "actor", "whoami")
	if r.code != 7 {
		t.Errorf("a bad session token: %+v, want exit 7", r)
	}
	if r := w.run(dir, "", []string{"FAIRWAY_DAEMON=require", "FAIRWAY_ACTOR=codex"}, "actor", "whoami"); r.code != 0 || r.stdout != "codex (agent)\n" {
		t.Errorf("after a bad token: %+v", r)
	}
}

func TestFront_RelativePathsResolveAgainstTheCallersFolder(t *testing.T) {
	w := newWorld(t)
	one, two := t.TempDir(), t.TempDir()
	w.ledger(one)
	w.ledger(two)
	w.warm(one)
	require := []string{"FAIRWAY_DAEMON=require", "FAIRWAY_ACTOR=alice"}
	if r := w.run(one, "", require, "task", "create", "ONE-1", "--title", "only in one"); r.code != 0 {
		t.Fatalf("create in one: %+v", r)
	}
	if r := w.run(two, "", require, "task", "create", "TWO-1", "--title", "only in two", "--dir", ".fairway"); r.code != 0 {
		t.Fatalf("create in two: %+v", r)
	}
	os.Mkdir(filepath.Join(two, "sub"), 0o755)
	for _, c := range []struct {
		dir       string
		args      []string
		has, hasn string
	}{
		{one, []string{"task", "list"}, "ONE-1", "TWO-1"},
		{two, []string{"task", "list"}, "TWO-1", "ONE-1"},
		{one, []string{"task", "list", "--dir", ".fairway"}, "ONE-1", "TWO-1"},
		{filepath.Join(two, "sub"), []string{"task", "list"}, "TWO-1", "ONE-1"}, // found above, as git finds .git
		{filepath.Join(two, "sub"), []string{"task", "list", "--dir", "../.fairway"}, "TWO-1", "ONE-1"},
	} {
		r := w.run(c.dir, "", require, c.args...)
		if r.code != 0 || !strings.Contains(r.stdout, c.has) || strings.Contains(r.stdout, c.hasn) {
			t.Errorf("%v in %s: %+v, want %s and not %s", c.args, c.dir, r, c.has, c.hasn)
		}
	}
	// FAIRWAY_DIR relative, too; and a folder with no store says so
	// with the path as given.
	if r := w.run(two, "", append(require, "FAIRWAY_DIR=.fairway"), "task", "show", "TWO-1"); r.code != 0 {
		t.Errorf("FAIRWAY_DIR=.fairway in two: %+v", r)
	}
	empty := t.TempDir()
	r := w.run(empty, "", require, "task", "list", "--dir", "nothing-here")
	if r.code != 3 || !strings.HasPrefix(r.stderr, "fairway: no Fairway store at nothing-here ") {
		t.Errorf("a missing relative store: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(empty, "nothing-here")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing store was created: %v", err)
	}
}

func TestFront_ConcurrentRequestsAllSucceed(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	w.ledger(dir)
	w.warm(dir)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan string, 2*n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := []string{"FAIRWAY_DAEMON=require", "FAIRWAY_ACTOR=alice"}
			if r := w.run(dir, "", env, "task", "create", fmt.Sprintf("C-%d", i), "--title", "concurrent"); r.code != 0 {
				errs <- fmt.Sprintf("create C-%d: %+v", i, r)
			}
			if r := w.run(dir, "", env, "task", "list"); r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("C-%d ", i)) {
				errs <- fmt.Sprintf("list after C-%d: %+v", i, r)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	r := w.run(dir, "", []string{"FAIRWAY_DAEMON=off"}, "task", "list", "--json")
	if got := strings.Count(r.stdout, `"key": "C-`); got != n {
		t.Fatalf("%d tasks C-* in the store, want %d", got, n)
	}
}

func TestFront_DaemonOffNeverStartsADaemon(t *testing.T) {
	w := newWorld(t, "FAIRWAY_DAEMON=off")
	dir := t.TempDir()
	w.ledger(dir)
	for range 3 {
		if r := w.run(dir, "", nil, "task", "list"); r.code != 0 {
			t.Fatalf("task list: %+v", r)
		}
	}
	time.Sleep(200 * time.Millisecond) // a daemon, had one started, would have made its socket
	if _, err := os.Stat(filepath.Join(w.runtime, "fairway")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("FAIRWAY_DAEMON=off made the socket folder: %v", err)
	}
}

func TestFront_SocketFolderOpenToOthersIsRefused(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	w.ledger(dir)
	sockets := filepath.Join(w.runtime, "fairway")
	if err := os.Mkdir(sockets, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sockets, 0o777); err != nil {
		t.Fatal(err)
	}
	// The command still runs, by exec, with no error.
	r := w.run(dir, "", nil, "task", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "T-1") || r.stderr != "" {
		t.Fatalf("task list with a public socket folder: %+v", r)
	}
	r = w.run(dir, "", []string{"FAIRWAY_DAEMON=require"}, "task", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "the socket folder is refused: "+sockets+" is open to other users (mode 777; want 700)") {
		t.Fatalf("require with a public socket folder: %+v", r)
	}
	time.Sleep(200 * time.Millisecond)
	if got := w.sockets(); len(got) != 0 {
		t.Fatalf("a daemon serves from a public folder: %v", got)
	}
	// Nor does the engine agree to serve there when started by hand.
	cmd := exec.Command(filepath.Join(binDir, "fairwayd"), "daemon", "--socket", filepath.Join(sockets, "fairwayd-0000000000000000.sock"))
	cmd.Env = w.env
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 5 || !strings.Contains(string(out), "is open to other users") {
		t.Fatalf("fairwayd daemon in a public folder: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
	}
}

func TestFront_OtherCommandsGoByExecAndKeepTheirExitCode(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	w.ledger(dir)
	w.warm(dir)
	// require applies to the daemon's commands only: run goes by exec.
	r := w.run(dir, "", []string{"FAIRWAY_DAEMON=require", "FAIRWAY_ACTOR=alice"}, "run", "T-1", "--", "sh", "-c", "exit 3")
	if r.code != 3 || !strings.Contains(r.stderr, "(exit 3,") {
		t.Fatalf("run -- sh -c 'exit 3': %+v", r)
	}
	// help naming a command the daemon does not run is declined whole.
	r = w.run(dir, "", []string{"FAIRWAY_DAEMON=require"}, "help", "run", "--", "sh", "-c", "exit 4")
	if r.code != 1 || !strings.Contains(r.stderr, "the daemon declined it") {
		t.Fatalf("help run -- ... through the daemon: %+v", r)
	}
	// So is a command for a server.
	r = w.run(dir, "", []string{"FAIRWAY_DAEMON=require", "FAIRWAY_SERVER=http://127.0.0.1:1"}, "task", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "the daemon declined it") {
		t.Fatalf("task list for a server through the daemon: %+v", r)
	}
}

func TestFront_DaemonExitsWhenIdle(t *testing.T) {
	w := newWorld(t, "FAIRWAY_DAEMON_IDLE=1s")
	dir := t.TempDir()
	_, pid := w.daemon(dir)
	for i := 0; i < 600 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Fatalf("daemon %d still runs long after its idle time", pid)
	}
	if got := w.sockets(); len(got) != 0 {
		t.Fatalf("the idle daemon left its socket: %v", got)
	}
	// The next command runs (by exec) and starts a new one.
	if r := w.run(dir, "", nil, "version"); r.code != 0 {
		t.Fatalf("version after the idle exit: %+v", r)
	}
}

func TestFront_SecondDaemonLeavesTheLiveOneAlone(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	sock, before := w.daemon(dir)
	cmd := exec.Command(filepath.Join(binDir, "fairwayd"), "daemon", "--socket", sock)
	cmd.Env = w.env
	if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
		t.Fatalf("a second daemon: %v\n%s", err, out)
	}
	after, err := daemonPID(sock)
	if err != nil || after != before {
		t.Fatalf("the socket is served by %d (%v), want the first daemon %d", after, err, before)
	}
	if r := w.run(dir, "", []string{"FAIRWAY_DAEMON=require"}, "version"); r.code != 0 {
		t.Fatalf("version after a second daemon tried: %+v", r)
	}
}

func TestFront_MissingEngineSaysWhereItLookedAndHowToBuild(t *testing.T) {
	alone := t.TempDir()
	front, err := os.ReadFile(filepath.Join(binDir, "fairway"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(alone, "fairway"), front, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(alone, "fairway"), "task", "list")
	cmd.Env = []string{"PATH=" + t.TempDir()}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	cmd.Run()
	want := "fairway: the engine fairwayd is neither next to this program (" + filepath.Join(alone, "fairwayd") +
		") nor on $PATH; build both from the source tree with `go build -o bin/ ./cmd/...` and run bin/fairway\n"
	if cmd.ProcessState.ExitCode() != 1 || errb.String() != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", cmd.ProcessState.ExitCode(), errb.String(), want)
	}
	// On $PATH, it is found there.
	cmd = exec.Command(filepath.Join(alone, "fairway"), "version")
	cmd.Env = []string{"PATH=" + binDir, "FAIRWAY_DAEMON=off"}
	if out, err := cmd.CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "fairway ") {
		t.Fatalf("engine on $PATH: %v\n%s", err, out)
	}
}

func TestFront_BenchStartRowsTimeTheFrontThroughADaemonOfItsOwn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a hello-world and times processes")
	}
	w := newWorld(t, "PATH="+os.Getenv("PATH")) // the bench builds its hello-world with go
	r := w.run(t.TempDir(), "", nil, "bench", "--only", "start", "--quick", "--json")
	if r.code != 0 {
		t.Fatalf("bench --only start: %+v", r)
	}
	var names []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), `"name": "`); ok {
			names = append(names, strings.TrimSuffix(name, `",`))
		}
	}
	for _, want := range []string{
		"fairway help, whole process (wall)", "fairway next, whole process (CPU)",
		"fairwayd daemon CPU per request, the five above",
		"fairwayd help, the engine run directly, whole process (wall)",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("no row %q in %q", want, names)
		}
	}
	if strings.Count(r.stdout, `= 2x hello-world",`) != 10 { // JSON writes < as \u003c
		t.Errorf("want 10 goal rows (five commands, wall and CPU):\n%s", r.stdout)
	}
	// The bench's daemon is its own, stopped after: none in this world.
	if got := w.sockets(); len(got) != 0 {
		t.Errorf("sockets in the caller's folder: %v", got)
	}
}

func TestFront_DaemonClearsTheFilesOfExitedDaemons(t *testing.T) {
	w := newWorld(t)
	sockets := filepath.Join(w.runtime, "fairway")
	os.Mkdir(sockets, 0o700)
	old := filepath.Join(sockets, "fairwayd-00000000000000aa")
	for _, ext := range []string{".lock", ".sock", ".log"} {
		if err := os.WriteFile(old+ext, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w.warm(t.TempDir())
	for _, ext := range []string{".lock", ".sock", ".log"} {
		if _, err := os.Stat(old + ext); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s of an exited daemon is still there: %v", ext, err)
		}
	}
	socks := w.sockets()
	if len(socks) != 1 {
		t.Fatalf("sockets %v, want the live daemon's", socks)
	}
	if fi, err := os.Stat(socks[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the socket's mode: %v %v, want 0600", fi.Mode(), err)
	}
}

func TestFront_ImportsOnlyWhatAHelloWorldPaysFor(t *testing.T) {
	list := func(pkgs ...string) []string {
		out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).Output()
		if err != nil {
			t.Fatalf("go list -deps %v: %v", pkgs, err)
		}
		return strings.Fields(string(out))
	}
	hello := list("fmt", "os") // what `fmt.Println("hello")` links
	extra := []string{"context", "os/signal", "fairway/internal/daemon", "fairway/cmd/fairway"}
	for _, dep := range list("fairway/cmd/fairway") {
		if slices.Contains(hello, dep) || slices.Contains(extra, dep) {
			continue
		}
		t.Errorf("the front links %s, which a hello-world does not", dep)
	}
	for _, dep := range list("fairway/cmd/fairway") {
		switch dep {
		case "fmt", "net", "flag", "encoding/json", "reflect":
			t.Errorf("the front links %s", dep)
		}
	}
}

func TestFront_BadDaemonSettingsAreRefused(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	for _, c := range []struct {
		env  string
		want string
	}{
		{"FAIRWAY_DAEMON=yes", "fairway: $FAIRWAY_DAEMON is \"yes\": want on (the default), off or require\n"},
	} {
		r := w.run(dir, "", []string{c.env}, "version")
		if r.code != 2 || r.stderr != c.want || r.stdout != "" {
			t.Errorf("%s: %+v", c.env, r)
		}
	}
	if _, err := os.Stat(filepath.Join(w.runtime, "fairway")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bad settings made the socket folder: %v", err)
	}
}

// A command whose output nobody reads any more (`fairway task list | head
// -1` once head is gone) dies of SIGPIPE when run directly, printing
// nothing more; through the daemon it ends the same way, not with exit 0
// or an "internal error".
func TestFront_BrokenStandardOutputEndsTheCommandAsSIGPIPEDoes(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	w.ledger(dir)
	w.warm(dir)
	for _, args := range [][]string{{"task", "show", "T-1"}, {"task", "show", "T-1", "--json"}, {"version"}} {
		for _, mode := range []string{"off", "require"} {
			r, wr, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			r.Close() // nobody reads
			cmd := exec.Command(filepath.Join(binDir, "fairway"), args...)
			cmd.Dir = dir
			cmd.Env = append(append([]string(nil), w.env...), "FAIRWAY_DAEMON="+mode)
			var errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = wr, &errb
			cmd.Run()
			wr.Close()
			st := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !st.Signaled() || st.Signal() != syscall.SIGPIPE || errb.Len() != 0 {
				t.Errorf("FAIRWAY_DAEMON=%s fairway %v into a pipe nobody reads: %v, stderr %q; want killed by SIGPIPE, nothing printed",
					mode, args, cmd.ProcessState, errb.String())
			}
		}
	}
}

// From a folder reached through a symbolic link (cd into a link, so $PWD
// is the link's path), "../.fairway" is the parent of the link's target
// for the kernel, as run directly; the daemon joined it to the path as
// text and opened the ledger beside the link instead: another ledger.
func TestFront_RelativePathsThroughASymbolicLinkResolveAsTheKernelDoes(t *testing.T) {
	w := newWorld(t)
	root := t.TempDir()
	physical, lexical := filepath.Join(root, "physical"), filepath.Join(root, "lexical")
	for _, dir := range []string{physical, lexical} {
		if err := os.MkdirAll(filepath.Join(dir, "work"), 0o755); err != nil {
			t.Fatal(err)
		}
		w.ledger(dir)
	}
	off := []string{"FAIRWAY_DAEMON=off", "FAIRWAY_ACTOR=alice"}
	w.run(physical, "", off, "task", "create", "PHYSICAL-1", "--title", "the parent of the link's target")
	w.run(lexical, "", off, "task", "create", "LEXICAL-1", "--title", "the parent of the link")
	os.Remove(filepath.Join(lexical, "work"))
	if err := os.Symlink(filepath.Join(physical, "work"), filepath.Join(lexical, "work")); err != nil {
		t.Fatal(err)
	}
	inLink := filepath.Join(lexical, "work")
	w.warm(inLink)
	require := []string{"FAIRWAY_DAEMON=require", "FAIRWAY_ACTOR=alice", "PWD=" + inLink}
	list := []string{"task", "list", "--dir", "../.fairway"}
	direct, daemonRun := w.run(inLink, "", append(off, "PWD="+inLink), list...), w.run(inLink, "", require, list...)
	if daemonRun != direct || !strings.Contains(direct.stdout, "PHYSICAL-1") {
		t.Errorf("%v from %s through the daemon:\n%+v\nrun directly:\n%+v", list, inLink, daemonRun, direct)
	}
	if r := w.run(inLink, "", require, "task", "create", "VIA-LINK-1", "--title", "written where the kernel says", "--dir", "../.fairway"); r.code != 0 {
		t.Fatalf("task create through the daemon: %+v", r)
	}
	if r := w.run(physical, "", off, "task", "show", "VIA-LINK-1"); r.code != 0 {
		t.Errorf("the task is not in the ledger run directly would write: %+v", r)
	}
	if r := w.run(lexical, "", off, "task", "show", "VIA-LINK-1"); r.code != 3 {
		t.Errorf("the daemon wrote to the ledger beside the link: %+v", r)
	}
}

// The daemon keeps a ledger open between requests. Once its owner takes
// away access to it (chmod 000), run directly a command is refused; the
// daemon went on reading and writing through the connections it had
// open.
func TestFront_ALedgerNoLongerAccessibleIsNotServedFromTheOpenStore(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run as another user: root itself passes any file mode")
	}
	const nobody = 65534
	home, err := os.MkdirTemp("", "fwnb-") // short: a socket path holds 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	runtime := filepath.Join(home, "rt")
	os.Mkdir(runtime, 0o700)
	for _, dir := range []string{home, runtime} {
		os.Chown(dir, nobody, nobody)
	}
	// The binaries' folder is this test's own, made reachable by nobody.
	// home sits in the system's temporary folder, which is left as it is.
	os.Chmod(binDir, 0o755)
	run := func(mode string, args ...string) result {
		t.Helper()
		cmd := exec.Command(filepath.Join(binDir, "fairway"), args...)
		cmd.Dir = home
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "XDG_RUNTIME_DIR=" + runtime, "FAIRWAY_DAEMON_IDLE=2m", "FAIRWAY_DAEMON=" + mode, "FAIRWAY_ACTOR=alice"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.Run()
		return result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}
	}
	w := &world{t: t, runtime: runtime}
	t.Cleanup(w.stopDaemons)
	if r := run("off", "actor", "create", "alice", "--kind", "human", "--no-token"); r.code != 0 {
		t.Fatalf("actor create: %+v", r)
	}
	run("on", "version")
	for i := 0; i < 400 && run("require", "version").code != 0; i++ {
		time.Sleep(25 * time.Millisecond)
	}
	if r := run("require", "task", "create", "BEFORE-1", "--title", "while readable"); r.code != 0 {
		t.Fatalf("task create through the daemon: %+v", r)
	}
	db := filepath.Join(home, ".fairway", "fairway.db")
	if err := os.Chmod(db, 0); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"task", "list"}, {"task", "create", "AFTER-1", "--title", "after access was taken away"}} {
		if direct, daemonRun := run("off", args...), run("require", args...); direct.code == 0 || daemonRun.code != direct.code {
			t.Errorf("%v on a ledger mode 000: through the daemon %+v, run directly %+v", args, daemonRun, direct)
		}
	}
	os.Chmod(db, 0o600)
	if r := run("off", "task", "show", "AFTER-1"); r.code != 3 {
		t.Errorf("the daemon wrote to a ledger its user could no longer open: %+v", r)
	}
}

// A store that cannot be opened is named as the user wrote it, through
// the daemon as run directly, not by the absolute path the daemon opened.
func TestFront_AStoreThatCannotBeOpenedIsNamedAsGiven(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	w.warm(dir)
	os.MkdirAll(filepath.Join(dir, "folder-not-file", "fairway.db"), 0o755)
	os.MkdirAll(filepath.Join(dir, "garbage"), 0o755)
	os.WriteFile(filepath.Join(dir, "garbage", "fairway.db"), []byte("not a database, at all: long enough to be read as a header\n"), 0o644)
	for _, args := range [][]string{
		{"task", "list", "--dir", "folder-not-file"},
		{"task", "list", "--dir", "garbage"},
		{"task", "list", "--dir", "sqlite:garbage"},
	} {
		daemonRun := w.run(dir, "", []string{"FAIRWAY_DAEMON=require"}, args...)
		direct := w.run(dir, "", []string{"FAIRWAY_DAEMON=off"}, args...)
		if daemonRun != direct || direct.code != 1 {
			t.Errorf("fairway %v through the daemon:\n%+v\nrun directly:\n%+v", args, daemonRun, direct)
		}
	}
}

// $FAIRWAY_DAEMON_IDLE is the daemon's setting: a bad one made every
// command exit 2, even one that never goes near the daemon. A command
// runs as ever; the daemon starts with its default, and the one command
// that starts it says why.
func TestFront_ABadIdleTimeNeverStopsACommand(t *testing.T) {
	for _, idle := range []string{"5", "-1m", "soon"} {
		t.Run(idle, func(t *testing.T) {
			w := newWorld(t, "FAIRWAY_DAEMON_IDLE="+idle)
			dir := t.TempDir()
			w.ledger(dir)
			r := w.run(dir, "", []string{"FAIRWAY_ACTOR=alice"}, "run", "T-1", "--", "sh", "-c", "exit 3")
			if r.code != 3 || strings.Contains(r.stderr, "FAIRWAY_DAEMON_IDLE") {
				t.Fatalf("run -- sh -c 'exit 3' with FAIRWAY_DAEMON_IDLE=%s: %+v", idle, r)
			}
			direct := w.run(dir, "", []string{"FAIRWAY_DAEMON=off"}, "task", "list")
			r = w.run(dir, "", nil, "task", "list")
			want := "fairway: $FAIRWAY_DAEMON_IDLE is " + strconv.Quote(idle) + ": want a positive duration such as 30s or 10m; " +
				"the daemon starts with its default idle time\n"
			if r.code != 0 || r.stdout != direct.stdout || r.stderr != want {
				t.Fatalf("task list that starts the daemon: %+v\nwant stderr %q", r, want)
			}
			w.warm(dir)
			if r := w.run(dir, "", []string{"FAIRWAY_DAEMON=require"}, "task", "list"); r != direct {
				t.Fatalf("task list through the daemon: %+v, want %+v", r, direct)
			}
			log, _ := filepath.Glob(filepath.Join(w.runtime, "fairway", "*.log"))
			if len(log) != 1 {
				t.Fatalf("logs %v, want one", log)
			}
			if b, _ := os.ReadFile(log[0]); !strings.Contains(string(b), "idle exit after 10m0s") {
				t.Fatalf("the daemon's log:\n%s", b)
			}
		})
	}
}

// runAs runs bin/fairway ARGS through sh after shell commands (umask,
// ulimit) that set the caller's rights.
func (w *world) runAs(dir, setup string, env []string, args ...string) result {
	w.t.Helper()
	cmd := exec.Command("sh", append([]string{"-c", setup + ` && exec "$0" "$@"`, filepath.Join(binDir, "fairway")}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append([]string(nil), w.env...), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		w.t.Fatalf("fairway %v: %v", args, err)
	}
	return result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}
}

// A caller with other rights (a sandbox: another umask, lower limits)
// was declined by the daemon another caller had started, and ran by exec
// for as long as that daemon lived; with more rights than the daemon's it
// would have been served with them. Each set of rights has a daemon of
// its own, and each serves its own callers.
func TestFront_CallersWithOtherRightsEachGetADaemonOfTheirOwn(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	w.ledger(dir)
	w.warm(dir)
	direct := w.run(dir, "", []string{"FAIRWAY_DAEMON=off"}, "task", "list")
	for i, setup := range []string{"umask 077", "ulimit -n 4096", "umask 077 && ulimit -n 4096"} {
		w.runAs(dir, setup, nil, "version") // a miss starts its daemon
		var r result
		for range 400 {
			if r = w.runAs(dir, setup, []string{"FAIRWAY_DAEMON=require"}, "task", "list"); r.code == 0 {
				break
			}
			time.Sleep(25 * time.Millisecond)
		}
		if r != direct {
			t.Fatalf("%s: task list through the daemon: %+v, want %+v", setup, r, direct)
		}
		if got := w.sockets(); len(got) != i+2 {
			t.Fatalf("%s: sockets %v, want %d", setup, got, i+2)
		}
	}
	// The first daemon still serves the first caller.
	if r := w.run(dir, "", []string{"FAIRWAY_DAEMON=require"}, "task", "list"); r != direct {
		t.Fatalf("task list of the first caller: %+v", r)
	}
}

// A rebuilt engine got a fresh daemon while the old build's lingered
// until its idle time. The new daemon tells it, and it exits.
func TestFront_ARebuiltEngineRetiresTheOldDaemon(t *testing.T) {
	w := newWorld(t)
	own := t.TempDir()
	install := func(name string) {
		b, err := os.ReadFile(filepath.Join(binDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(own, name+".new"), b, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(own, name+".new"), filepath.Join(own, name)); err != nil {
			t.Fatal(err)
		}
	}
	install("fairway")
	install("fairwayd")
	dir := t.TempDir()
	run := func(env ...string) result {
		cmd := exec.Command(filepath.Join(own, "fairway"), "version")
		cmd.Dir = dir
		cmd.Env = append(append([]string(nil), w.env...), env...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.Run()
		return result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}
	}
	warm := func() {
		run()
		for range 400 {
			if run("FAIRWAY_DAEMON=require").code == 0 {
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
		t.Fatalf("the daemon never answered; sockets: %v", w.sockets())
	}
	warm()
	old := w.sockets()
	if len(old) != 1 {
		t.Fatalf("sockets %v, want one", old)
	}
	oldPID, err := daemonPID(old[0])
	if err != nil {
		t.Fatal(err)
	}
	install("fairwayd") // the rebuild
	warm()
	for i := 0; i < 400 && syscall.Kill(oldPID, 0) == nil; i++ {
		time.Sleep(25 * time.Millisecond)
	}
	if syscall.Kill(oldPID, 0) == nil {
		t.Fatalf("the old build's daemon %d still runs after a new one started", oldPID)
	}
	if now := w.sockets(); len(now) != 1 || now[0] == old[0] {
		t.Fatalf("sockets %v, want the new build's only (the old was %s)", now, old[0])
	}
}

// A daemon that dies while it runs a command (a panic in a goroutine,
// which nothing can recover, or a kill) left its front saying only that
// the connection dropped. The front says the daemon ended, with the
// crash line of its log, and never runs the command again: it may have
// written already.
func TestFront_ADaemonThatDiesMidCommandIsReportedAndTheCommandNotRunAgain(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGABRT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorld(t)
			dir := t.TempDir()
			sock, pid := w.daemon(dir)
			cmd := exec.Command(filepath.Join(binDir, "fairway"), "hook", "claude")
			cmd.Dir = dir
			cmd.Env = append(append([]string(nil), w.env...), "FAIRWAY_DAEMON=require")
			stdinR, stdin, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			cmd.Stdin = stdinR
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			stdinR.Close()
			// The command runs in the daemon, waiting for its input: the
			// daemon holds the read end of this very pipe (a count of its
			// descriptors moves with its store's connections too).
			pipe, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", stdin.Fd()))
			if err != nil {
				t.Fatal(err)
			}
			holds := func() bool {
				entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
				for _, e := range entries {
					if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name())); l == pipe {
						return true
					}
				}
				return false
			}
			for i := 0; i < 1000 && !holds(); i++ {
				time.Sleep(10 * time.Millisecond)
			}
			if !holds() {
				t.Fatalf("the daemon never took the request (it holds no end of %s)", pipe)
			}
			syscall.Kill(pid, sig)
			cmd.Wait()
			stdin.Close()
			log := strings.TrimSuffix(sock, ".sock") + ".log"
			why := ""
			if sig == syscall.SIGABRT {
				why = ": SIGABRT: abort"
			}
			want := fmt.Sprintf("fairway: the fairwayd daemon (pid %d) ended while running this command%s (its log: %s). "+
				"The command may have done some or all of its work, so it is not run again: look before you rerun it "+
				"(FAIRWAY_DAEMON=off runs commands without the daemon).\n", pid, why, log)
			if code := cmd.ProcessState.ExitCode(); code != 1 || out.String() != "" || errb.String() != want {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s\nwant:\n%s", code, out.String(), errb.String(), want)
			}
			// The next command finds no daemon, runs, and starts another.
			if r := w.run(dir, "", nil, "version"); r.code != 0 {
				t.Fatalf("version after the daemon died: %+v", r)
			}
			w.warm(dir)
		})
	}
}

// landlockEnv makes the test binary a sandbox: it enters a Landlock
// domain that lets it write only beneath the folders the variable lists
// (':' apart), then runs its arguments, a program and its own, in it.
const landlockEnv = "FAIRWAY_TEST_LANDLOCK"

const landlockWrites = unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_MAKE_REG | unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
	unix.LANDLOCK_ACCESS_FS_REMOVE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE

func landlocked(allowed string) {
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "landlock: %s: %v\n", what, err)
		os.Exit(99)
	}
	// A domain is the calling thread's; exec takes it to the process.
	runtime.LockOSThread()
	attr := unix.LandlockRulesetAttr{Handled_access_fs: landlockWrites}
	ruleset, _, errno := syscall.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if errno != 0 {
		fail("create ruleset", errno)
	}
	for _, dir := range filepath.SplitList(allowed) {
		fd, err := syscall.Open(dir, unix.O_PATH|syscall.O_CLOEXEC, 0)
		if err != nil {
			fail(dir, err)
		}
		rule := unix.LandlockPathBeneathAttr{Allowed_access: landlockWrites, Parent_fd: int32(fd)}
		if _, _, errno := syscall.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, ruleset, unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&rule)), 0, 0, 0); errno != 0 {
			fail("add rule", errno)
		}
	}
	// As root, without no_new_privs: the sandbox differs from its user
	// by its Landlock domain alone, which /proc does not show.
	if _, _, errno := syscall.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0, 0); errno != 0 {
		fail("restrict self", errno)
	}
	fail("exec", syscall.Exec(os.Args[1], os.Args[1:], os.Environ()))
}

// A caller in a Landlock domain reads in /proc as its user does, so the
// socket's name is the user's. It was served by the user's daemon, which
// wrote where the sandbox may not. It now passes over a daemon it may not
// inspect (or that finds its rights other) to a daemon of its own, in
// its own domain, and the user's daemon still serves the user.
func TestFront_ACallerInALandlockDomainGetsADaemonOfItsOwn(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to enter a Landlock domain without no_new_privs, which /proc would show")
	}
	if abi, _, errno := syscall.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION); errno != 0 || abi < 3 {
		t.Skipf("no Landlock with truncation rights here (ABI %d, %v)", abi, errno)
	}
	w := newWorld(t)
	dir := t.TempDir()
	w.ledger(dir)
	w.warm(dir)
	// One sandbox, one domain, as an agent's: its commands are a script.
	script := `
front=$1
FAIRWAY_DAEMON=off "$front" task create SANDBOX-1 --title "written by the sandbox" >direct.out 2>&1
echo "by exec: $?"
"$front" version >start.out 2>&1 # passes over the user's daemon and starts its own
i=0
until FAIRWAY_DAEMON=require "$front" version >wait.out 2>&1; do
	i=$((i+1)); [ $i -lt 400 ] || { echo "its daemon never answered"; exit 1; }
	sleep 0.025
done
FAIRWAY_DAEMON=require "$front" task create SANDBOX-1 --title "written by the sandbox" >daemon.out 2>&1
echo "through its daemon: $?"
`
	out := t.TempDir()
	cmd := exec.Command(os.Args[0], "/bin/sh", "-c", script, "sh", filepath.Join(binDir, "fairway"))
	cmd.Dir = out
	cmd.Env = append(append([]string(nil), w.env...), "FAIRWAY_ACTOR=alice", "FAIRWAY_DIR="+filepath.Join(dir, ".fairway"), landlockEnv+"="+w.runtime+":"+out)
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the sandbox: %v\n%s", err, got)
	}
	direct, _ := os.ReadFile(filepath.Join(out, "direct.out"))
	served, _ := os.ReadFile(filepath.Join(out, "daemon.out"))
	if code := strings.Fields(string(got)); !strings.HasPrefix(string(got), "by exec: ") || code[2] == "0" ||
		string(got) != "by exec: "+code[2]+"\nthrough its daemon: "+code[2]+"\n" || string(served) != string(direct) {
		t.Fatalf("the sandbox's write:\n%s\nby exec:\n%s\nthrough its daemon:\n%s", got, direct, served)
	}
	t.Logf("%sby exec and through its daemon: %s", got, direct)
	if r := w.run(dir, "", []string{"FAIRWAY_DAEMON=off"}, "task", "show", "SANDBOX-1"); r.code != 3 {
		t.Errorf("the sandbox's task is in the ledger: %+v", r)
	}
	if socks := w.sockets(); len(socks) != 2 {
		t.Errorf("sockets %v, want the user's and the sandbox's", socks)
	}
	// The user's own commands: still their daemon's.
	if r := w.run(dir, "", []string{"FAIRWAY_DAEMON=require", "FAIRWAY_ACTOR=alice"}, "task", "create", "USER-1", "--title", "by the user"); r.code != 0 {
		t.Errorf("the user's write through the user's daemon: %+v", r)
	}
}
