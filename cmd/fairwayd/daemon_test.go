package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"fairway/internal/daemon"

	"github.com/creack/pty"
)

func TestDaemon_CommandsNameRealCommands(t *testing.T) {
	for _, name := range daemon.Commands {
		if c := findCommand(strings.Fields(name)); c == nil || c.name != name {
			t.Errorf("daemon.Commands has %q, which is not a command", name)
		}
	}
}

func TestDaemon_ServesOnlyItsCommandsOnTheLocalStore(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, c := range []struct {
		args []string
		env  map[string]string
		dir  string
		want bool
	}{
		{args: []string{"task", "list"}, want: true},
		{args: nil, want: true},
		{args: []string{"help", "task", "list"}, want: true},
		{args: []string{"task"}, want: true},          // the group's list
		{args: []string{"no-such-thing"}, want: true}, // a usage error
		{args: []string{"task", "list", "--bogus"}, want: true},
		{args: []string{"run", "T-1", "--", "true"}, want: false},
		{args: []string{"help", "run", "--", "sh", "-c", "true"}, want: false}, // help X is X --help, and -- ends the flags
		{args: []string{"help", "help", "serve"}, want: false},
		{args: []string{"daemon", "--socket", "/x.sock"}, want: false},
		{args: []string{"evidence", "add", "T-1", "-"}, want: false},
		{args: []string{"task", "list", "--server", "http://127.0.0.1:1"}, want: false},
		{args: []string{"task", "list", "-server=http://127.0.0.1:1"}, want: false},
		{args: []string{"task", "list"}, env: map[string]string{"FAIRWAY_SERVER": "http://x"}, want: false},
		{args: []string{"task", "list"}, env: map[string]string{"FAIRWAY_STORE": "postgres://x"}, want: false},
		{args: []string{"task", "list"}, env: map[string]string{"FAIRWAY_BLOBS": "s3://b/p"}, want: false},
		{args: []string{"task", "list"}, dir: "relative", want: false},
	} {
		getenv := noEnv
		if c.env != nil {
			getenv = func(k string) string { return c.env[k] }
		}
		dir := c.dir
		if dir == "" {
			dir = "/"
		}
		if got := servable(&daemon.Request{Args: c.args, Dir: dir}, getenv); got != c.want {
			t.Errorf("servable(%q, env %v, dir %q) = %v, want %v", c.args, c.env, dir, got, c.want)
		}
	}
}

func TestDaemon_EnvironmentReadsAsGetenvDoes(t *testing.T) {
	getenv := envLookup([]string{"A=1", "A=2", "B=x=y", "NOEQUALS", "E="})
	for k, want := range map[string]string{"A": "1", "B": "x=y", "NOEQUALS": "", "E": "", "MISSING": ""} {
		if got := getenv(k); got != want {
			t.Errorf("getenv(%q) = %q, want %q", k, got, want)
		}
	}
}

// panicWriter stands for a command that crashes mid-way.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("broken writer") }

func TestDaemon_APanicEndsOnlyItsRequest(t *testing.T) {
	var errb bytes.Buffer
	a := &app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: panicWriter{}, stderr: &errb, getenv: func(string) string { return "" }, cwd: "/"}
	if code := runRequest(a, []string{"version"}); code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	if !strings.Contains(errb.String(), "fairway: internal error") || !strings.Contains(errb.String(), "broken writer") {
		t.Fatalf("stderr: %q", errb.String())
	}
	var out bytes.Buffer
	b := &app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, cwd: "/"}
	if code := runRequest(b, []string{"version"}); code != exitOK || !strings.HasPrefix(out.String(), "fairway ") {
		t.Fatalf("the next request: exit %d, %q", code, out.String())
	}
}

func TestDaemon_StoreCacheFollowsTheFile(t *testing.T) {
	var c storeCache
	defer c.sweep(0)
	dir := t.TempDir()
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		a := &app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
			getenv: func(k string) string { return map[string]string{"FAIRWAY_ACTOR": "alice"}[k] }, cwd: dir, stores: &c}
		code := a.run(args)
		return code, out.String() + errb.String()
	}
	if code, out := run("actor", "create", "alice", "--kind", "human", "--no-token"); code != 0 {
		t.Fatalf("actor create: %d %s", code, out)
	}
	if code, out := run("task", "create", "OLD-1", "--title", "before"); code != 0 {
		t.Fatalf("task create: %d %s", code, out)
	}
	if code, out := run("task", "list"); code != 0 || !strings.Contains(out, "OLD-1") {
		t.Fatalf("task list: %d %s", code, out)
	}
	if len(c.open) != 1 {
		t.Fatalf("%d stores open, want 1", len(c.open))
	}
	// The folder is deleted and made again: the new store is read, not
	// the one still open.
	if err := os.RemoveAll(filepath.Join(dir, ".fairway")); err != nil {
		t.Fatal(err)
	}
	if code, out := run("task", "list"); code != 3 {
		t.Fatalf("task list with the store gone: %d %s", code, out)
	}
	if code, out := run("actor", "create", "alice", "--kind", "human", "--no-token"); code != 0 {
		t.Fatalf("actor create again: %d %s", code, out)
	}
	if code, out := run("task", "list"); code != 0 || strings.Contains(out, "OLD-1") {
		t.Fatalf("task list of the new store: %d %s", code, out)
	}
	c.sweep(storeUnused)
	if len(c.open) != 1 {
		t.Fatalf("%d stores open after the sweep, want the current one", len(c.open))
	}
}

// lockedBuffer is a daemon log several goroutines write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// startDaemonInProcess runs a daemon on a socket of its own; stop ends it
// and waits.
func startDaemonInProcess(t *testing.T, idle time.Duration) (socket string, stop func()) {
	t.Helper()
	dir, err := os.MkdirTemp("", "fwd-") // short: a socket path holds 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket = filepath.Join(dir, "fairwayd-test.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := &lockedBuffer{}
	go func() {
		a := &app{ctx: ctx, stdout: io.Discard, stderr: log, getenv: func(string) string { return "" }}
		done <- runDaemon(a, socket, "", idle)
	}()
	// The socket file exists from bind, before listen: wait until it
	// accepts.
	for i := 0; i < 400; i++ {
		if c, err := net.Dial("unix", socket); err == nil {
			c.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("daemon: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return socket, stop
}

// request sends one request as the front does, with pipes for its
// streams, and returns the daemon's answer.
func request(t *testing.T, socket string, req *daemon.Request, stdin string) (reply byte, code int, stdout, stderr string) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := os.NewFile(uintptr(fd), "conn")
	defer conn.Close()
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: socket}); err != nil {
		t.Fatal(err)
	}
	inR, inW, _ := os.Pipe()
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	b := req.Encode()
	if err := syscall.Sendmsg(fd, b[:daemon.HeaderSize], syscall.UnixRights(int(inR.Fd()), int(outW.Fd()), int(errW.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	outW.Close()
	errW.Close()
	if _, err := conn.Write(b[daemon.HeaderSize:]); err != nil {
		t.Fatal(err)
	}
	go func() { io.WriteString(inW, stdin); inW.Close() }()
	var outB, errB []byte
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); outB, _ = io.ReadAll(outR) }()
	go func() { defer wg.Done(); errB, _ = io.ReadAll(errR) }()
	answer, _ := io.ReadAll(conn)
	wg.Wait()
	outR.Close()
	errR.Close()
	if len(answer) == 0 {
		return 0, -1, string(outB), string(errB)
	}
	if answer[0] == daemon.Running && len(answer) == 6 && answer[1] == daemon.Exited {
		return daemon.Running, daemon.Code(answer[2:]), string(outB), string(errB)
	}
	return answer[0], -1, string(outB), string(errB)
}

func TestDaemon_InProcess_ConcurrentRequestsEachWithTheirOwnEnvironmentAndFolder(t *testing.T) {
	socket, _ := startDaemonInProcess(t, time.Minute)
	one, two := t.TempDir(), t.TempDir()
	for _, dir := range []string{one, two} {
		if reply, code, out, errs := request(t, socket, &daemon.Request{Args: []string{"version"}, Dir: dir}, ""); reply != daemon.Running || code != 0 {
			t.Fatalf("version: %c %d %s %s", reply, code, out, errs)
		}
		// The ledgers are made by the engine in process: actor create is
		// not one of the daemon's commands.
		var sink bytes.Buffer
		a := &app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &sink, stderr: &sink, getenv: func(string) string { return "" }, cwd: dir}
		if code := a.run([]string{"actor", "create", "alice", "--kind", "human", "--no-token"}); code != 0 {
			t.Fatalf("actor create: %s", sink.String())
		}
		b := &app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &sink, stderr: &sink, getenv: func(string) string { return "" }, cwd: dir}
		if code := b.run([]string{"actor", "create", "bob", "--kind", "agent", "--no-token", "--as", "alice"}); code != 0 {
			t.Fatalf("actor create bob: %s", sink.String())
		}
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan string, 2*n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir, actor, kind := one, "alice", "human"
			if i%2 == 1 {
				dir, actor, kind = two, "bob", "agent"
			}
			env := []string{"FAIRWAY_ACTOR=" + actor, "HOME=/nowhere"}
			if reply, code, out, stderr := request(t, socket, &daemon.Request{Args: []string{"actor", "whoami"}, Env: env, Dir: dir}, ""); code != 0 || out != actor+" ("+kind+")\n" {
				errs <- fmt.Sprintf("whoami as %s: %c %d %q %q", actor, reply, code, out, stderr)
			}
			key := fmt.Sprintf("P-%d", i)
			if reply, code, out, stderr := request(t, socket, &daemon.Request{Args: []string{"task", "create", key, "--title", "in process", "--dir", ".fairway"}, Env: env, Dir: dir}, ""); code != 0 {
				errs <- fmt.Sprintf("task create %s: %c %d %q %q", key, reply, code, out, stderr)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for _, c := range []struct {
		dir       string
		has, hasn string
	}{{one, "P-0 ", "P-1 "}, {two, "P-1 ", "P-0 "}} {
		_, code, out, stderr := request(t, socket, &daemon.Request{Args: []string{"task", "list"}, Dir: c.dir}, "")
		if code != 0 || !strings.Contains(out, c.has) || strings.Contains(out, c.hasn) || strings.Count(out, "P-") != n/2 {
			t.Errorf("task list in %s: %d %q %q", c.dir, code, out, stderr)
		}
	}
}

func TestDaemon_InProcess_DeclinesAndRefusesBadRequests(t *testing.T) {
	socket, _ := startDaemonInProcess(t, time.Minute)
	if reply, _, _, _ := request(t, socket, &daemon.Request{Args: []string{"run", "T-1", "--", "true"}, Dir: "/"}, ""); reply != daemon.Declined {
		t.Errorf("run: reply %q, want declined", reply)
	}
	if reply, _, _, _ := request(t, socket, &daemon.Request{Args: []string{"version"}, Dir: "relative"}, ""); reply != daemon.Declined {
		t.Errorf("a relative folder: reply %q, want declined", reply)
	}
	// Standard input reaches the command.
	reply, code, _, stderr := request(t, socket, &daemon.Request{Args: []string{"hook", "claude"}, Dir: "/"}, "not json")
	if reply != daemon.Running || code != 1 || !strings.Contains(stderr, "invalid character 'o'") {
		t.Errorf("hook claude with bad JSON: %q %d %q", reply, code, stderr)
	}
	// Garbage and a request without its streams are dropped unanswered.
	for _, raw := range [][]byte{[]byte("GET / HTTP/1.1\r\n\r\n"), (&daemon.Request{Args: []string{"version"}, Dir: "/"}).Encode()} {
		fd, _ := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		conn := os.NewFile(uintptr(fd), "conn")
		if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: socket}); err != nil {
			t.Fatal(err)
		}
		conn.Write(raw)
		answer, _ := io.ReadAll(conn)
		conn.Close()
		if len(answer) != 0 {
			t.Errorf("%q was answered %q", raw, answer)
		}
	}
}

func TestDaemon_InProcess_ExitsWhenIdleAndRemovesItsSocket(t *testing.T) {
	socket, stop := startDaemonInProcess(t, 200*time.Millisecond)
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(socket); errors.Is(err, os.ErrNotExist) {
			stop()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the socket is still there long after the idle time")
}

// daemonClientEnv makes the test binary a client that sends `version` to
// the daemon at that socket, with its own streams, and prints the answer
// in hex on stderr.
const daemonClientEnv = "FAIRWAY_TEST_DAEMON_CLIENT"

func daemonClient(socket string) int {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: socket}); err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		return 1
	}
	b := (&daemon.Request{Args: []string{"version"}, Dir: "/"}).Encode()
	if err := syscall.Sendmsg(fd, b[:daemon.HeaderSize], syscall.UnixRights(0, 1, 2), nil, 0); err != nil {
		fmt.Fprintln(os.Stderr, "answer:") // closed on us before the request was out: no answer
		return 0
	}
	conn := os.NewFile(uintptr(fd), "conn")
	conn.Write(b[daemon.HeaderSize:])
	answer, _ := io.ReadAll(conn)
	fmt.Fprintf(os.Stderr, "answer:%x\n", answer)
	return 0
}

func TestDaemon_InProcess_RefusesAnotherUserAndAnotherFileView(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to connect as another user")
	}
	socket, _ := startDaemonInProcess(t, time.Minute)
	// Open the way for another user, as a careless folder would: the
	// peer's uid is what still stops it.
	os.Chmod(filepath.Dir(socket), 0o711)
	os.Chmod(socket, 0o666)
	exe := filepath.Join(filepath.Dir(socket), "client")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, self, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(attr *syscall.SysProcAttr) string {
		cmd := exec.Command(exe)
		cmd.Env = []string{daemonClientEnv + "=" + socket}
		cmd.SysProcAttr = attr
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("client: %v\n%s", err, errb.String())
		}
		return strings.TrimSpace(errb.String())
	}
	// The same user is served: Running, then Exited with 0.
	if got := run(nil); got != "answer:52"+"58"+"00000000" { // Running, Exited 0
		t.Fatalf("the daemon's own user: %s", got)
	}
	if got := run(&syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}); got != "answer:" {
		t.Fatalf("another user: %s, want no answer", got)
	}
	// The same user in a mount namespace of its own (a container sharing
	// the folder) sees other files under the same paths: declined.
	if got := run(&syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}); got != "answer:4f" {
		t.Fatalf("the same user in another mount namespace: %s, want other rights (4f)", got)
	}
}

func TestDaemon_InProcess_DeclinesACallerWithAnotherUmask(t *testing.T) {
	socket, _ := startDaemonInProcess(t, time.Minute)
	run := func(umask string) string {
		// sh sets the umask, then becomes the client.
		cmd := exec.Command("sh", "-c", "umask "+umask+" && exec \"$0\"", os.Args[0])
		cmd.Env = []string{daemonClientEnv + "=" + socket}
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("client: %v\n%s", err, errb.String())
		}
		return strings.TrimSpace(errb.String())
	}
	old := syscall.Umask(0)
	syscall.Umask(old)
	mine := fmt.Sprintf("%04o", old)
	if got := run(mine); got != "answer:52"+"58"+"00000000" {
		t.Fatalf("umask %s, the daemon's: %s", mine, got)
	}
	other := "0077"
	if mine == other {
		other = "0022"
	}
	if got := run(other); got != "answer:4f" {
		t.Fatalf("umask %s against the daemon's %s: %s, want other rights (4f)", other, mine, got)
	}
}

// A caller of the daemon's uid with fewer rights (other groups, or root
// with its capabilities dropped, as a sandbox runs it) would have the
// daemon open what it cannot open itself: a ledger of another user's, say.
// It is declined, and runs the engine with its own rights.
func TestDaemon_InProcess_DeclinesACallerWithOtherGroupsOrCapabilities(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to change the client's groups and capabilities")
	}
	socket, _ := startDaemonInProcess(t, time.Minute)
	run := func(cmd *exec.Cmd) string {
		cmd.Env = []string{daemonClientEnv + "=" + socket}
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("client %v: %v\n%s", cmd.Args, err, errb.String())
		}
		return strings.TrimSpace(errb.String())
	}
	if got := run(exec.Command(os.Args[0])); got != "answer:52"+"58"+"00000000" {
		t.Fatalf("the daemon's own credentials: %s", got)
	}
	groups, _ := os.Getgroups()
	other := exec.Command(os.Args[0])
	other.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 0, Gid: 0, Groups: append(toUint32(groups), 65534)}}
	if got := run(other); got != "answer:4f" {
		t.Errorf("a caller in one more group: %s, want other rights (4f)", got)
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv is not installed: cannot drop the client's capabilities")
	}
	if got := run(exec.Command(setpriv, "--inh-caps=-all", "--bounding-set=-all", "--", os.Args[0])); got != "answer:4f" {
		t.Errorf("root without its capabilities: %s, want other rights (4f)", got)
	}
}

func toUint32(ints []int) []uint32 {
	out := make([]uint32, len(ints))
	for i, v := range ints {
		out[i] = uint32(v)
	}
	return out
}

// A command that reads standard input from a terminal (`fairway hook
// claude` typed at a shell) must not run in the daemon: after the front
// gave up on a second Ctrl-C, the daemon would go on reading the
// terminal, taking the next lines the user types at the shell.
func TestDaemon_InProcess_DeclinesReadingATerminal(t *testing.T) {
	socket, _ := startDaemonInProcess(t, time.Minute)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	for _, c := range []struct {
		args []string
		want byte
	}{
		{[]string{"hook", "claude"}, daemon.Declined},
		{[]string{"hook", "claude", "--help"}, daemon.Running}, // help reads nothing
		{[]string{"version"}, daemon.Running},
	} {
		fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		conn := os.NewFile(uintptr(fd), "conn")
		if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: socket}); err != nil {
			t.Fatal(err)
		}
		b := (&daemon.Request{Args: c.args, Dir: "/"}).Encode()
		null, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err := syscall.Sendmsg(fd, b[:daemon.HeaderSize], syscall.UnixRights(int(tty.Fd()), int(null.Fd()), int(null.Fd())), nil, 0); err != nil {
			t.Fatal(err)
		}
		null.Close()
		conn.Write(b[daemon.HeaderSize:])
		var reply [1]byte
		_, err = io.ReadFull(conn, reply[:])
		conn.Close() // cancels a command left reading
		if err != nil || reply[0] != c.want {
			t.Errorf("%v with a terminal as standard input: reply %q (%v), want %q", c.args, reply[0], err, c.want)
		}
	}
}

func TestResolveAt_FollowsLinksAsTheKernelDoes(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"a/b/c", "x/y"} {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
	}
	os.Symlink(filepath.Join(root, "a/b/c"), filepath.Join(root, "x/abs")) // absolute target
	os.Symlink("../a/b", filepath.Join(root, "x/rel"))                     // relative target
	os.Symlink("loop", filepath.Join(root, "x/loop"))
	x := filepath.Join(root, "x")
	for _, c := range []struct{ rel, want string }{
		{"y", root + "/x/y"},
		{"./y/../y/.", root + "/x/y"},
		{"abs/..", root + "/a/b"},                    // the target's parent, not x
		{"abs/../../.fairway", root + "/a/.fairway"}, // missing from .fairway on: left as given
		{"rel/c/..", root + "/a/b"},
		{"rel/../..", root},
		{"missing/../y", root + "/x/missing/../y"}, // the kernel refuses it, as run directly
		{"loop/z", root + "/x/loop/z"},
	} {
		if got := resolveAt(x, c.rel); got != c.want {
			t.Errorf("resolveAt(x, %q) = %q, want %q", c.rel, got, c.want)
		}
	}
}

// A command left waiting on standard input (a pipe its writer keeps open)
// when its front is gone (killed on a hook's timeout) must end and let go
// of the caller's streams: a harness that reads the hook's output until
// end of file would otherwise wait for ever on the daemon's copy.
func TestDaemon_InProcess_AFrontGoneEndsACommandWaitingOnInput(t *testing.T) {
	socket, _ := startDaemonInProcess(t, time.Minute)
	conn, inW, outR := hookWaitingOnInput(t, socket)
	defer inW.Close()                                      // the writer stays, silent
	conn.Close()                                           // the front is killed
	outR.SetReadDeadline(time.Now().Add(30 * time.Second)) // a guard against hanging, not a measure
	rest, err := io.ReadAll(outR)
	if err != nil {
		t.Fatalf("the daemon still holds the caller's output after its front went away: %v (read %q)", err, rest)
	}
}

// FAIRWAY_DAEMON_IDLE=1ns is a positive duration, so the front and the
// daemon accept it; the daemon's idle ticker (a quarter of it) was zero,
// and time.NewTicker panics on that: every command started a daemon that
// crashed, its goroutine dump appended to the log.
func TestDaemon_InProcess_ATinyIdleTimeExitsInsteadOfCrashing(t *testing.T) {
	socket, stop := startDaemonInProcess(t, time.Nanosecond)
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(socket); errors.Is(err, os.ErrNotExist) {
			stop()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the socket is still there long after the idle time")
}

// `ulimit -f` caps what a process may write to files (past it, SIGXFSZ
// kills it): a caller under a cap the daemon lacks would write without it.
func TestDaemon_InProcess_DeclinesACallerWithAnotherFileSizeLimit(t *testing.T) {
	socket, _ := startDaemonInProcess(t, time.Minute)
	cmd := exec.Command("sh", "-c", "ulimit -f 64 && exec \"$0\"", os.Args[0])
	cmd.Env = []string{daemonClientEnv + "=" + socket}
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("client: %v\n%s", err, errb.String())
	}
	if got := strings.TrimSpace(errb.String()); got != "answer:4f" {
		t.Fatalf("a caller under ulimit -f 64: %s, want other rights (4f)", got)
	}
}

// Every resource limit counts, not only the file size: a caller under a
// lower limit on open files, processes or memory would have the daemon
// run past it.
func TestDaemon_InProcess_DeclinesACallerWithAnyOtherLimit(t *testing.T) {
	socket, _ := startDaemonInProcess(t, time.Minute)
	for _, limit := range []string{"ulimit -n 512", "ulimit -c 0", "ulimit -v 100000000", "ulimit -t 100000"} {
		cmd := exec.Command("sh", "-c", limit+" && exec \"$0\"", os.Args[0])
		cmd.Env = []string{daemonClientEnv + "=" + socket}
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("client under %s: %v\n%s", limit, err, errb.String())
		}
		if got := strings.TrimSpace(errb.String()); got != "answer:4f" {
			t.Errorf("a caller under %s: %s, want other rights (4f)", limit, got)
		}
	}
}

// ask sends socket the daemon.Retire question and returns the answer.
func ask(t *testing.T, socket string) byte {
	t.Helper()
	c, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, daemon.Retire); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatal(err)
	}
	return b[0]
}

// After a rebuild, the old build's daemon lingered until its idle time.
// Asked by a new daemon, it takes no new request, finishes the one it
// runs and exits.
func TestDaemon_InProcess_ARebuiltEngineRetiresTheDaemonAfterItsRequests(t *testing.T) {
	dir, err := os.MkdirTemp("", "fwd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	engine := filepath.Join(dir, "fairwayd")
	if err := os.WriteFile(engine, []byte("build one"), 0o755); err != nil {
		t.Fatal(err)
	}
	build, _ := daemon.Key(engine)
	socket := daemon.Socket(dir, daemon.SocketKey(build, "rights"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		a := &app{ctx: ctx, stdout: io.Discard, stderr: &lockedBuffer{}, getenv: func(string) string { return "" }}
		done <- runDaemon(a, socket, engine, time.Hour)
	}()
	for i := 0; i < 400; i++ {
		if c, err := net.Dial("unix", socket); err == nil {
			c.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := ask(t, socket); got != daemon.Kept {
		t.Fatalf("asked with its build in place: %q, want Kept", got)
	}
	// A request in flight: hook claude waits for its input.
	conn, inW, outR := hookWaitingOnInput(t, socket)
	defer conn.Close()
	// The rebuild: another file under the engine's name.
	if err := os.WriteFile(engine+".new", []byte("build two"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(engine+".new", engine); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, socket); got != daemon.Retiring {
		t.Fatalf("asked after a rebuild: %q, want Retiring", got)
	}
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(socket); errors.Is(err, os.ErrNotExist) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c, err := net.Dial("unix", socket); err == nil {
		c.Close()
		t.Fatal("the retiring daemon still takes connections")
	}
	select {
	case err := <-done:
		t.Fatalf("the daemon exited (%v) with a request still running", err)
	case <-time.After(200 * time.Millisecond):
	}
	io.WriteString(inW, `{"session_id":"s-1","hook_event_name":"Stop"}`)
	inW.Close()
	answer, _ := io.ReadAll(conn)
	out, _ := io.ReadAll(outR)
	if len(answer) != 5 || answer[0] != daemon.Exited || daemon.Code(answer[1:]) != 0 ||
		string(out) != "fairway: not in a Fairway session ($FAIRWAY_SESSION is not set); nothing recorded\n" {
		t.Fatalf("the request in flight: answer %q, output %q", answer, out)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the retired daemon did not exit after its last request")
	}
}

// A panic in the daemon's own handling of a request, outside the
// command, ended the daemon and every request it ran. It ends that
// request only: declined before the command started (the front runs it
// by exec; nothing ran), exit 1 with an internal error after.
func TestDaemon_InProcess_APanicServingARequestEndsThatRequestOnly(t *testing.T) {
	var when atomic.Value // "decide" or "running": where the hook panics
	when.Store("")
	testHookServe = func(running bool, args []string) {
		if len(args) == 1 && args[0] == "version" && (when.Load() == "running") == running && when.Load() != "" {
			panic("a bug in the daemon")
		}
	}
	socket, stop := startDaemonInProcess(t, time.Minute)
	t.Cleanup(func() { stop(); testHookServe = nil })
	when.Store("decide")
	if reply, code, out, errs := request(t, socket, &daemon.Request{Args: []string{"version"}, Dir: "/"}, ""); reply != daemon.Declined || out != "" || errs != "" {
		t.Fatalf("a panic before the command: %q %d %q %q, want declined and nothing written", reply, code, out, errs)
	}
	when.Store("running")
	reply, code, out, errs := request(t, socket, &daemon.Request{Args: []string{"version"}, Dir: "/"}, "")
	if reply != daemon.Running || code != exitFailure || out != "" ||
		errs != "fairway: internal error in the fairwayd daemon (recovered; its log has the details): string\n" {
		t.Fatalf("a panic as the command starts: %q %d %q %q", reply, code, out, errs)
	}
	when.Store("")
	if reply, code, out, _ := request(t, socket, &daemon.Request{Args: []string{"version"}, Dir: "/"}, ""); reply != daemon.Running || code != 0 || !strings.HasPrefix(out, "fairway ") {
		t.Fatalf("the next request: %q %d %q", reply, code, out)
	}
}

// Connections that run nothing (a caller of other rights passing over
// the daemon, a retire question, a declined command) kept the daemon
// from its idle exit: a daemon nobody can use lived as long as they came.
func TestDaemon_InProcess_ConnectionsThatRunNothingDoNotKeepTheDaemonUp(t *testing.T) {
	socket, stop := startDaemonInProcess(t, 500*time.Millisecond)
	give := time.Now().Add(20 * time.Second)
	for time.Now().Before(give) {
		if _, err := os.Stat(socket); errors.Is(err, os.ErrNotExist) {
			stop()
			return
		}
		if c, err := net.Dial("unix", socket); err == nil {
			io.WriteString(c, daemon.Retire)
			io.ReadAll(c)
			c.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("questions that ran nothing kept the daemon up long past its idle time")
}

// A daemon in a slot past the first serves callers whose rights /proc
// cannot tell from another's (Landlock domains). One that no caller ever
// used (a sandbox that makes a domain per command) exits soon, not at
// the idle time; the first slot's, started on any first miss, does not.
func TestDaemon_InProcess_AnUnusedDaemonInALaterSlotExitsSoon(t *testing.T) {
	was := unusedSlotExit
	unusedSlotExit = 300 * time.Millisecond
	t.Cleanup(func() { unusedSlotExit = was })
	dir, err := os.MkdirTemp("", "fwd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	base := daemon.SocketKey("0123456789abcdef", "rights")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := map[string]chan error{}
	for _, slot := range []int{0, 1} {
		socket := daemon.Socket(dir, daemon.SlotKey(base, slot))
		ch := make(chan error, 1)
		done[socket] = ch
		go func() {
			a := &app{ctx: ctx, stdout: io.Discard, stderr: &lockedBuffer{}, getenv: func(string) string { return "" }}
			ch <- runDaemon(a, socket, "", time.Hour)
		}()
	}
	first, second := daemon.Socket(dir, base), daemon.Socket(dir, daemon.SlotKey(base, 1))
	select {
	case err := <-done[second]:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the unused daemon of slot 1 is still up")
	}
	select {
	case err := <-done[first]:
		t.Fatalf("the daemon of slot 0 exited (%v) long before its idle time", err)
	case <-time.After(time.Second):
	}
	cancel()
	<-done[first]
}

// hookWaitingOnInput sends the daemon at socket a `hook claude` request,
// as a front does, with pipes for its streams, and returns once the
// daemon says it runs: the command waits for input on the pipe inW
// writes to, and its output comes out of outR.
func hookWaitingOnInput(t *testing.T, socket string) (conn, inW, outR *os.File) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn = os.NewFile(uintptr(fd), "conn")
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: socket}); err != nil {
		t.Fatal(err)
	}
	inR, inW, _ := os.Pipe()
	outR, outW, _ := os.Pipe()
	b := (&daemon.Request{Args: []string{"hook", "claude"}, Dir: "/"}).Encode()
	if err := syscall.Sendmsg(fd, b[:daemon.HeaderSize], syscall.UnixRights(int(inR.Fd()), int(outW.Fd()), int(outW.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	outW.Close()
	conn.Write(b[daemon.HeaderSize:])
	var reply [1]byte
	if _, err := io.ReadFull(conn, reply[:]); err != nil || reply[0] != daemon.Running {
		t.Fatalf("reply %q, %v", reply[0], err)
	}
	return conn, inW, outR
}
