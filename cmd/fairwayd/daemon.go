package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"fairway"
	"fairway/internal/daemon"
	"fairway/sqlite"

	"golang.org/x/sys/unix"
)

// The resident engine. The fairway front (cmd/fairway) connects to its
// socket and hands it one command: arguments, environment, working
// folder and the standard streams themselves. Each request runs on its
// own goroutine with its own app, which reads only what the request
// brought: its environment (never the daemon's), its folder for every
// relative path, its streams. The daemon runs only the commands of
// daemon.Commands, and declines (the front then runs the engine itself)
// anything that would reach past the local store: a server, another
// store or blob store, whose clients read settings from the process
// environment.

// defaultDaemonIdle is how long a daemon waits for a request before it
// exits; $FAIRWAY_DAEMON_IDLE overrides it.
const defaultDaemonIdle = 10 * time.Minute

// requestArrival bounds how long a connection may take to send its
// request.
const requestArrival = 30 * time.Second

func init() {
	register(&command{
		name: "daemon", hidden: true,
		summary: "internal: the resident engine the fairway front hands quick commands to (it starts one itself)",
		args:    "--socket PATH",
		example: `FAIRWAY_DAEMON_IDLE=30s fairwayd daemon --socket "$XDG_RUNTIME_DIR/fairway/fairwayd-KEY.sock"   # the fairway front starts it; nobody needs to`,
		setup: func(fs *flag.FlagSet) runFunc {
			socket := fs.String("socket", "", "the unix socket to serve, in a folder only this user can open (required)")
			return func(a *app, pos []string) error {
				if err := wantArgs(pos, 0, "no arguments"); err != nil {
					return err
				}
				idle := defaultDaemonIdle
				if v := a.getenv("FAIRWAY_DAEMON_IDLE"); v != "" {
					d, err := time.ParseDuration(v)
					if err != nil || d <= 0 {
						return usagef("$FAIRWAY_DAEMON_IDLE is %q: want a positive duration such as 30s or 10m", v)
					}
					idle = d
				}
				// The front starts the engine by the path it keyed the
				// socket on: a later build there retires this daemon.
				return runDaemon(a, *socket, os.Args[0], idle)
			}
		},
	})
}

// daemonServer is one running daemon.
type daemonServer struct {
	ctx  context.Context
	log  io.Writer
	idle time.Duration

	// engine and build are the engine's path and the build key in the
	// socket's name; build is "" for a socket named otherwise (started
	// by hand), which never retires.
	engine, build string
	retire        chan struct{}
	retireOnce    sync.Once

	// rights are the daemon's own (daemon.Rights), read once: nothing
	// in it changes them.
	rights string

	stores storeCache

	// slot is the socket's daemon.SlotOf; started and ran say whether a
	// daemon of a later slot was ever of use.
	slot    int
	started time.Time

	mu     sync.Mutex
	active int
	ran    int
	last   time.Time
	wg     sync.WaitGroup
}

// unusedSlotExit is how long a daemon of a slot past the first waits for
// its first command: one that serves callers of no one domain (a sandbox
// that makes a domain per command) is of no use.
var unusedSlotExit = time.Minute

func runDaemon(a *app, socket, engine string, idle time.Duration) error {
	if !filepath.IsAbs(socket) || !strings.HasSuffix(socket, ".sock") {
		return fairway.FieldError("socket", "%q is not an absolute path ending in .sock", socket)
	}
	dir := filepath.Dir(socket)
	if err := daemon.CheckDir(dir); err != nil {
		return fairway.Errorf(fairway.EFORBIDDEN, "the socket folder is refused: %v", err)
	}
	// The lock decides which daemon owns the socket: a second one started
	// for the same engine leaves the first alone.
	lock, err := os.OpenFile(strings.TrimSuffix(socket, ".sock")+".lock", os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil
		}
		return fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	// Holding the lock, any socket file left is a dead daemon's.
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		return err
	}
	// The socket is removed only while it is still this daemon's: after
	// a race of starts another may have bound the name since.
	l.SetUnlinkOnClose(false)
	var bound syscall.Stat_t
	if err := syscall.Stat(socket, &bound); err != nil {
		l.Close()
		return err
	}
	if err := os.Chmod(socket, 0o600); err != nil {
		l.Close()
		return err
	}
	removeSocket := func() {
		var now syscall.Stat_t
		if syscall.Stat(socket, &now) == nil && now.Dev == bound.Dev && now.Ino == bound.Ino {
			os.Remove(socket)
		}
	}
	d := &daemonServer{ctx: a.ctx, log: a.stderr, idle: idle, last: time.Now(), retire: make(chan struct{}),
		slot: daemon.SlotOf(socket), started: time.Now()}
	if filepath.IsAbs(engine) {
		d.engine, d.build = engine, daemon.BuildOf(socket)
	}
	if d.rights, err = daemon.Rights("self"); err != nil {
		l.Close()
		removeSocket()
		return fmt.Errorf("cannot read the daemon's own rights: %w", err)
	}
	live := removeDeadDaemons(dir, socket)
	fmt.Fprintf(d.log, "%s fairwayd daemon %d: serving %s, idle exit after %s\n", time.Now().UTC().Format(time.RFC3339), os.Getpid(), socket, idle)

	stop := make(chan struct{})
	go func() {
		// At least a millisecond: a quarter of a few nanoseconds is zero,
		// which NewTicker refuses with a panic.
		first := idle
		if d.slot > 0 {
			first = min(idle, unusedSlotExit)
		}
		tick := time.NewTicker(max(min(first/4, 5*time.Second), time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-a.ctx.Done():
			case <-d.retire:
				d.logf("the engine %s is no longer this daemon's build: no new requests; exiting after those running", d.engine)
			case <-tick.C:
				d.stores.sweep(storeUnused)
				if !d.idleFor() {
					continue
				}
			}
			close(stop)
			removeSocket()
			l.Close()
			return
		}
	}()
	// Daemons of builds since replaced exit now, not at their idle time.
	go retireOthers(live)
accept:
	for {
		conn, err := l.AcceptUnix()
		if err != nil {
			select {
			case <-stop:
				break accept
			default:
				time.Sleep(100 * time.Millisecond) // out of descriptors, say: try again
				continue
			}
		}
		d.begin()
		go func() {
			ran := false
			defer func() { d.end(ran) }()
			ran = d.serve(conn)
		}()
	}
	d.wg.Wait()
	d.stores.sweep(0)
	fmt.Fprintf(d.log, "%s fairwayd daemon %d: stopped\n", time.Now().UTC().Format(time.RFC3339), os.Getpid())
	return nil
}

func (d *daemonServer) begin() {
	d.mu.Lock()
	d.active++
	d.wg.Add(1)
	d.mu.Unlock()
}

// end ends a connection; only one that ran a command counts as use: a
// daemon that callers only pass over (other rights) or question is idle.
func (d *daemonServer) end(ran bool) {
	d.mu.Lock()
	d.active--
	if ran {
		d.ran++
		d.last = time.Now()
	}
	d.wg.Done()
	d.mu.Unlock()
}

// idleFor reports whether no request ran for the daemon's idle time, or,
// in a slot past the first, none ever ran within unusedSlotExit.
func (d *daemonServer) idleFor() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.active > 0 {
		return false
	}
	if d.slot > 0 && d.ran == 0 && time.Since(d.started) >= min(d.idle, unusedSlotExit) {
		return true
	}
	return time.Since(d.last) >= d.idle
}

func (d *daemonServer) logf(format string, args ...any) {
	fmt.Fprintf(d.log, "%s fairwayd daemon %d: %s\n", time.Now().UTC().Format(time.RFC3339), os.Getpid(), fmt.Sprintf(format, args...))
}

// serve answers one connection. Nothing of the request (arguments,
// environment) is ever logged: the environment carries tokens.
//
// A panic here, outside the command (runRequest guards that), ends this
// connection only: a daemon that died of it would take every request it
// runs down with it. Before the command started, the request is declined
// and the front runs it by exec (nothing ran); after, the caller is told
// of an internal error and gets exit 1, never a second run. running
// reports whether a command ran.
func (d *daemonServer) serve(conn *net.UnixConn) (running bool) {
	var files []*os.File
	defer func() {
		if r := recover(); r != nil {
			// The panic's value may quote the request: only its type.
			d.logf("recovered a panic (%T) serving a request:\n%s", r, debug.Stack())
			if !running {
				conn.Write([]byte{daemon.Declined})
			} else {
				if len(files) == 3 {
					fmt.Fprintf(files[2], "fairway: internal error in the fairwayd daemon (recovered; its log has the details): %T\n", r)
				}
				conn.Write(daemon.PutCode(exitFailure))
			}
		}
		for _, f := range files {
			f.Close()
		}
		conn.Close()
	}()
	uid, pid, err := peerCred(conn)
	if err != nil {
		d.logf("refused a connection: its user is unknown: %v", err)
		return
	} else if uid != os.Getuid() {
		d.logf("refused a connection from uid %d: the daemon serves uid %d only", uid, os.Getuid())
		return
	}
	conn.SetReadDeadline(time.Now().Add(requestArrival))
	req, got, err := readRequest(conn)
	files = got
	if errors.Is(err, errRetire) {
		if d.stale() {
			d.retireOnce.Do(func() { close(d.retire) })
			conn.Write([]byte{daemon.Retiring})
		} else {
			conn.Write([]byte{daemon.Kept})
		}
		return
	}
	if err != nil {
		d.logf("dropped a request: %v", err)
		return
	}
	conn.SetReadDeadline(time.Time{})
	if testHookServe != nil {
		testHookServe(false, req.Args)
	}
	if !d.sameRights(pid) {
		conn.Write([]byte{daemon.OtherRights})
		return
	}
	getenv := envLookup(req.Env)
	// The folder as the kernel knows it: relative paths are resolved
	// from there, as for a process run in it.
	realCwd, err := filepath.EvalSymlinks(req.Dir)
	if !servable(req, getenv) || readsTerminal(req.Args, files[0]) || err != nil {
		conn.Write([]byte{daemon.Declined})
		return
	}
	if _, err := conn.Write([]byte{daemon.Running}); err != nil {
		return
	}
	running = true
	if testHookServe != nil {
		testHookServe(true, req.Args)
	}
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	// The front sends Cancel on SIGINT or SIGTERM; a front that is gone
	// cancels too.
	broken := &brokenStream{cancel: cancel}
	go func() {
		var b [1]byte
		for {
			n, err := conn.Read(b[:])
			if err != nil {
				// Killed, as a process run directly would be: it prints
				// nothing more.
				broken.frontGone.Store(true)
			}
			if err != nil || n == 1 && b[0] == daemon.Cancel {
				cancel()
				return
			}
		}
	}()
	a := &app{ctx: ctx, stdin: &callerInput{files[0], ctx}, stdout: &callerStream{files[1], 1, broken}, stderr: &callerStream{files[2], 2, broken},
		getenv: getenv, cwd: req.Dir, realCwd: realCwd, stores: &d.stores}
	code := runRequest(a, req.Args)
	if fd := broken.fd.Load(); fd != 0 {
		code = daemon.BrokenStream(int(fd))
	}
	for _, f := range files {
		f.Close() // the caller's streams end before it is told the code
	}
	files = nil
	conn.Write(daemon.PutCode(code))
	return true
}

// testHookServe, set by tests, runs as a request is about to be decided
// (running false) and as its command starts (running true).
var testHookServe func(running bool, args []string)

// callerStream is the caller's standard output or error. A process run
// directly dies of SIGPIPE on its first write to a stream nobody reads;
// here that write cancels the command, and every later write to either
// stream fails, so nothing more is printed and the front dies as it would.
type callerStream struct {
	f      *os.File
	fd     int
	broken *brokenStream
}

// brokenStream records the first stream found broken, and a front gone.
type brokenStream struct {
	fd        atomic.Int32
	frontGone atomic.Bool
	cancel    func()
}

func (s *callerStream) Write(p []byte) (int, error) {
	if s.broken.fd.Load() != 0 || s.broken.frontGone.Load() {
		return 0, syscall.EPIPE
	}
	n, err := s.f.Write(p)
	if errors.Is(err, syscall.EPIPE) {
		s.broken.fd.CompareAndSwap(0, int32(s.fd))
		s.broken.cancel()
	}
	return n, err
}

// callerInput is the caller's standard input, read only once poll says
// there is something to read, so that a command cancelled (Ctrl-C, its
// front killed) while waiting on a silent pipe or terminal ends, and lets
// go of the caller's streams, instead of waiting in read for ever.
type callerInput struct {
	f   *os.File
	ctx context.Context
}

// inputPoll is how often a wait on input looks at the cancellation.
const inputPoll = 100 // milliseconds

func (in *callerInput) Read(p []byte) (int, error) {
	raw, err := in.f.SyscallConn()
	if err != nil {
		return in.f.Read(p)
	}
	for {
		if err := in.ctx.Err(); err != nil {
			return 0, err
		}
		ready := false
		var pollErr error
		raw.Control(func(fd uintptr) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, inputPoll)
			ready, pollErr = n > 0, err
		})
		if pollErr != nil && pollErr != unix.EINTR {
			return 0, pollErr
		}
		if ready {
			return in.f.Read(p)
		}
	}
}

// errRetire is readRequest's answer to a daemon.Retire question.
var errRetire = errors.New("asked to retire")

// stale reports whether the engine file is no longer the build this
// daemon serves.
func (d *daemonServer) stale() bool {
	if d.build == "" {
		return false
	}
	key, err := daemon.Key(d.engine)
	return err != nil || key != d.build
}

// retireOthers asks every other live daemon whether its engine is still
// its build (daemon.Retire); each decides for itself.
func retireOthers(sockets []string) {
	for _, socket := range sockets {
		c, err := net.DialTimeout("unix", socket, time.Second)
		if err != nil {
			continue
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, daemon.Retire); err == nil {
			var b [1]byte
			c.Read(b[:])
		}
		c.Close()
	}
}

// removeDeadDaemons removes the files of daemons of other engine builds
// that have exited: a lock no process holds, with its socket and log. It
// returns the sockets of the others, alive.
func removeDeadDaemons(dir, own string) (live []string) {
	locks, _ := filepath.Glob(filepath.Join(dir, "fairwayd-*.lock"))
	for _, lockPath := range locks {
		base := strings.TrimSuffix(lockPath, ".lock")
		if base+".sock" == own {
			continue
		}
		f, err := os.OpenFile(lockPath, os.O_RDWR|syscall.O_NOFOLLOW, 0)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.Remove(base + ".sock")
			os.Remove(base + ".log")
			os.Remove(lockPath)
		} else {
			live = append(live, base+".sock")
		}
		f.Close()
	}
	return live
}

// runRequest runs one command; a panic ends that command alone, with exit
// code 1 and the panic on its own standard error.
func runRequest(a *app, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(a.stderr, "fairway: internal error (the daemon recovered; run with FAIRWAY_DAEMON=off to compare): %v\n", r)
			if a.closer != nil {
				a.closer()
			}
			code = exitFailure
		}
	}()
	return a.run(args)
}

// servable decides whether the daemon runs a request: the command it
// names (resolved as dispatch resolves it, help included) is one of
// daemon.Commands, it talks to the local store only, and the folder it
// came from is absolute. Anything else is declined and the front runs the
// engine itself, so nothing is lost but the fast start.
func servable(req *daemon.Request, getenv func(string) string) bool {
	if !filepath.IsAbs(req.Dir) {
		return false
	}
	// A server, another store, other blobs: their clients read process
	// settings (proxies, PG* variables, credentials files).
	for _, name := range []string{"FAIRWAY_SERVER", "FAIRWAY_STORE", "FAIRWAY_BLOBS"} {
		if getenv(name) != "" {
			return false
		}
	}
	args := req.Args
	for len(args) > 1 && daemon.IsHelp(args[0]) {
		args = append(slices.Clone(args[1:]), "--help") // as dispatch does
	}
	if len(args) == 0 || daemon.IsHelp(args[0]) {
		return true // the overview
	}
	c := findCommand(args)
	if c == nil {
		return true // a group's list, or an unknown command: text only
	}
	if !slices.Contains(daemon.Commands, c.name) {
		return false
	}
	probe := &app{getenv: getenv}
	fs, _ := probe.flagSet(c)
	if _, err := parseInterspersed(fs, args[len(strings.Fields(c.name)):]); err != nil {
		return true // a usage error, or help
	}
	return probe.server == ""
}

// stdinCommands are the daemon's commands that read standard input.
var stdinCommands = []string{"hook claude"}

// readsTerminal reports whether the command reads its standard input and
// that is a terminal. Such a command runs in the front's own process: a
// daemon's read of the terminal outlives the front given up with a
// second Ctrl-C, and would take what the user types next at the shell.
func readsTerminal(args []string, stdin *os.File) bool {
	c := findCommand(args)
	if c == nil || !slices.Contains(stdinCommands, c.name) {
		return false
	}
	fs, _ := (&app{getenv: func(string) string { return "" }}).flagSet(c)
	if _, err := parseInterspersed(fs, args[len(strings.Fields(c.name)):]); err != nil {
		return false // help or a usage error: nothing is read
	}
	raw, err := stdin.SyscallConn()
	if err != nil {
		return true
	}
	terminal := true
	raw.Control(func(fd uintptr) {
		_, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		terminal = err == nil
	})
	return terminal
}

// envLookup reads a request's environment as os.Getenv reads the
// process's: the first NAME=VALUE of a name wins.
func envLookup(env []string) func(string) string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if _, seen := m[k]; ok && !seen {
			m[k] = v
		}
	}
	return func(k string) string { return m[k] }
}

// sameRights reports whether the process pid sees the files the daemon
// sees and acts on them with the daemon's rights (daemon.Rights: the
// same mount namespace and root, umask, ids, groups, capabilities,
// no-new-privileges and seccomp state, every resource limit, security
// label). The socket's name already carries the caller's rights; this
// is the defence against a daemon started by hand or a name reused. The
// peer's uid alone is not enough: a caller of the same uid in fewer
// groups, or root with its capabilities dropped (a sandbox), would have
// the daemon open what it cannot open itself; one in a container or
// chroot would have its paths resolved in the daemon's view.
func (d *daemonServer) sameRights(pid int) bool {
	theirs, err := daemon.Rights(strconv.Itoa(pid))
	return d.rights != "" && err == nil && theirs == d.rights
}

// peerCred is the user id and process id at the other end (SO_PEERCRED).
func peerCred(conn *net.UnixConn) (uid, pid int, err error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return -1, -1, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return -1, -1, err
	}
	if credErr != nil {
		return -1, -1, credErr
	}
	return int(cred.Uid), int(cred.Pid), nil
}

// readRequest reads the request and the three streams sent with its
// first bytes. Any other number of descriptors is refused (and closed).
func readRequest(conn *net.UnixConn) (*daemon.Request, []*os.File, error) {
	header := make([]byte, daemon.HeaderSize)
	oob := make([]byte, syscall.CmsgSpace(8*4))
	n, oobn, flags, _, err := conn.ReadMsgUnix(header, oob)
	if err != nil {
		return nil, nil, err
	}
	var fds []int
	if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if got, err := syscall.ParseUnixRights(&m); err == nil {
				fds = append(fds, got...)
			}
		}
	}
	fail := func(err error) (*daemon.Request, []*os.File, error) {
		for _, fd := range fds {
			syscall.Close(fd)
		}
		return nil, nil, err
	}
	if _, err := io.ReadFull(conn, header[n:]); err != nil {
		return fail(err)
	}
	if string(header) == daemon.Retire {
		return fail(errRetire)
	}
	if flags&syscall.MSG_CTRUNC != 0 || len(fds) != 3 {
		return fail(fmt.Errorf("want the caller's 3 standard streams, got %d descriptors", len(fds)))
	}
	size, err := daemon.BodySize(header)
	if err != nil {
		return fail(err)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(conn, body); err != nil {
		return fail(err)
	}
	req, err := daemon.Decode(body)
	if err != nil {
		return fail(err)
	}
	files := []*os.File{os.NewFile(uintptr(fds[0]), "/dev/stdin"), os.NewFile(uintptr(fds[1]), "/dev/stdout"), os.NewFile(uintptr(fds[2]), "/dev/stderr")}
	return req, files, nil
}

// storeCache keeps a daemon's local SQLite stores open between requests:
// opening one (connections, schema check) costs more than most commands.
// A store is found by its path and checked on every request against the
// file's device and inode, so a folder deleted and made again gets a
// store of its own; stores unused for storeUnused are closed.
type storeCache struct {
	mu   sync.Mutex
	open map[storeID]*cachedStore
}

type storeID struct {
	path     string
	dev, ino uint64
}

type cachedStore struct {
	store    fairway.Store
	refs     int
	lastUsed time.Time
}

// storeUnused is how long an unused store stays open.
const storeUnused = time.Minute

// acquire returns the open store at path (an absolute path to an existing
// file the daemon may read and write now, else it is opened uncached, as
// run directly) and the function that releases it. Access is asked on
// every request: an open store would go on serving a ledger whose mode or
// folder no longer lets its user in.
func (c *storeCache) acquire(path string) (fairway.Store, func(), error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil || unix.Access(path, unix.R_OK|unix.W_OK) != nil {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	id := storeID{path: path, dev: uint64(st.Dev), ino: st.Ino}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.open[id]
	if e == nil {
		// Opening under the lock: two first requests for a store open it
		// once.
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			return nil, nil, err
		}
		if c.open == nil {
			c.open = map[storeID]*cachedStore{}
		}
		e = &cachedStore{store: s}
		c.open[id] = e
	}
	e.refs++
	var once sync.Once
	return e.store, func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			e.refs--
			e.lastUsed = time.Now()
		})
	}, nil
}

// sweep closes the stores no request holds that were unused for longer
// than unused, or whose file is gone or replaced; all of them when
// unused is zero.
func (c *storeCache) sweep(unused time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, e := range c.open {
		if e.refs > 0 {
			continue
		}
		var st syscall.Stat_t
		current := syscall.Stat(id.path, &st) == nil && uint64(st.Dev) == id.dev && st.Ino == id.ino
		if unused == 0 || !current || time.Since(e.lastUsed) > unused {
			e.store.Close()
			delete(c.open, id)
		}
	}
}
