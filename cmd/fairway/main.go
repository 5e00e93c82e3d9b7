// Command fairway is the command line of Fairway, for humans and agents.
// It is a small front for the engine, fairwayd (cmd/fairwayd), which
// holds the whole CLI, the API server and the benchmarks.
//
// A Go binary that links a store, an expression engine and an HTTP server
// pays for their package initialisation before main runs, on every
// command. So the front links almost nothing and hands each command on:
// quick commands (internal/daemon's list) to a resident `fairwayd daemon`
// that already paid that start, over a unix socket that carries the
// arguments, the environment, the working folder and the standard
// streams themselves; every other command, or any command when no daemon
// answers, to the engine by exec, in this same process. A miss starts the
// daemon for the next command without waiting for it. The socket is named
// by the engine build and this process's rights, so a sandboxed caller
// and its user each have a daemon of their own.
//
// FAIRWAY_DAEMON=off sends every command by exec and starts no daemon;
// FAIRWAY_DAEMON=require makes a command the daemon may run an error
// (exit 1, saying why) when the daemon does not run it, instead of an
// exec: for tests and for finding out why a command is slow.
package main

import (
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"fairway/internal/daemon"
)

// engineName is the engine's file name, next to this program or on $PATH.
const engineName = "fairwayd"

func main() {
	args := os.Args[1:]
	engine, err := findEngine()
	if err != nil {
		os.Stderr.WriteString("fairway: " + err.Error() + "\n")
		os.Exit(1)
	}
	mode := os.Getenv("FAIRWAY_DAEMON")
	if mode != "" && mode != "on" && mode != "off" && mode != "require" {
		os.Stderr.WriteString("fairway: $FAIRWAY_DAEMON is " + strconv.Quote(mode) + ": want on (the default), off or require\n")
		os.Exit(2)
	}
	if mode != "off" && daemon.MayServe(args) {
		code, served, why := viaDaemon(engine, args)
		if served {
			os.Exit(code)
		}
		if mode == "require" {
			os.Stderr.WriteString("fairway: FAIRWAY_DAEMON=require and the daemon did not run this command: " + why + "\n")
			os.Exit(1)
		}
	}
	err = syscall.Exec(engine, append([]string{engine}, args...), os.Environ())
	os.Stderr.WriteString("fairway: cannot run the engine " + engine + ": " + err.Error() + "\n")
	os.Exit(1)
}

// findEngine returns fairwayd next to this program, else the first on
// $PATH.
func findEngine() (string, error) {
	self, err := os.Executable()
	beside := "its own location is unknown: " + errText(err)
	if err == nil {
		beside = dirOf(self) + "/" + engineName
		if isExecutable(beside) {
			return beside, nil
		}
	}
	path := os.Getenv("PATH")
	for start := 0; start <= len(path); {
		end := start
		for end < len(path) && path[end] != ':' {
			end++
		}
		if dir := path[start:end]; dir != "" && dir[0] == '/' {
			if candidate := dir + "/" + engineName; isExecutable(candidate) {
				return candidate, nil
			}
		}
		start = end + 1
	}
	return "", errorString("the engine " + engineName + " is neither next to this program (" + beside + ") nor on $PATH; " +
		"build both from the source tree with `go build -o bin/ ./cmd/...` and run bin/fairway")
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			if i == 0 {
				return "/"
			}
			return path[:i]
		}
	}
	return "."
}

func isExecutable(path string) bool {
	var st syscall.Stat_t
	return syscall.Stat(path, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Mode&0o111 != 0
}

// viaDaemon runs the command in the daemon and returns its exit code, or
// served false, and why, when the command must go by exec: no daemon (one
// is started for next time), an unusable socket folder, or the daemon
// declined. Nothing has run when served is false.
func viaDaemon(engine string, args []string) (code int, served bool, why string) {
	dir, err := daemon.Dir()
	if err != nil {
		return 0, false, "the socket folder is refused: " + err.Error()
	}
	build, err := daemon.Key(engine)
	if err != nil {
		return 0, false, "cannot read the engine: " + err.Error()
	}
	rights, err := daemon.Rights("self")
	if err != nil {
		return 0, false, "cannot read this process's rights: " + err.Error()
	}
	base := daemon.SocketKey(build, rights)
	wd, err := os.Getwd()
	if err != nil {
		return 0, false, "no working folder: " + err.Error()
	}
	// A daemon with other rights under this name (a Landlock domain
	// leaves no trace in /proc, so the name cannot tell it apart) sends
	// this process on to the next slot: each set of rights still gets a
	// daemon of its own.
	for slot := range daemon.Slots {
		key := daemon.SlotKey(base, slot)
		socket := daemon.Socket(dir, key)
		if len(socket) > daemon.MaxSocketPath {
			return 0, false, "the socket path " + socket + " is too long for a unix socket"
		}
		fd, err := dial(socket)
		if err != nil {
			startDaemon(engine, dir, key, socket)
			return 0, false, "no daemon answered at " + socket + " (" + err.Error() + "); one is starting"
		}
		code, served, why, other := ask(fd, dir, key, args, wd)
		syscall.Close(fd)
		if !other {
			return code, served, why
		}
	}
	return 0, false, "the daemons at all " + strconv.Itoa(daemon.Slots) + " sockets for this engine and these rights run with other rights " +
		"(another Landlock domain, say); none is started"
}

// ask has the daemon at fd run the command. other reports a daemon of
// other rights than this process's, which has run nothing: one this
// process may not inspect (another Landlock domain, more capabilities,
// not dumpable), or one that says the caller's rights differ from its.
func ask(fd int, dir, key string, args []string, wd string) (code int, served bool, why string, other bool) {
	// Who serves, and where its log ends now: should it die while the
	// command runs, the front can say so, and what it wrote as it died.
	cred, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil {
		return 0, false, "", true
	}
	daemonPID := int(cred.Pid)
	// Reading its namespace takes the right to inspect it (ptrace's read
	// check): the daemon makes the same check of this process, and the
	// two hold only when neither is confined more than the other.
	if _, err := os.Readlink("/proc/" + strconv.Itoa(daemonPID) + "/ns/mnt"); err != nil {
		return 0, false, "", true
	}
	log := daemon.Log(dir, key)
	var logStart int64
	var st syscall.Stat_t
	if syscall.Stat(log, &st) == nil {
		logStart = st.Size
	}
	req := (&daemon.Request{Args: args, Env: os.Environ(), Dir: wd}).Encode()
	// The streams go with the first bytes; the rest follows as written.
	n, err := syscall.SendmsgN(fd, req[:daemon.HeaderSize], syscall.UnixRights(0, 1, 2), nil, 0)
	if err != nil || n != daemon.HeaderSize || writeAll(fd, req[daemon.HeaderSize:]) != nil {
		return 0, false, "the daemon did not take the request", false
	}
	// Declined, or gone before it began: it runs here.
	var reply [1]byte
	if err := readFull(fd, reply[:]); err != nil {
		return 0, false, "the daemon closed the connection before running it", false
	}
	if reply[0] == daemon.OtherRights {
		return 0, false, "", true
	}
	if reply[0] != daemon.Running {
		return 0, false, "the daemon declined it (not one of its commands, it needs a server or a store other than a local folder, " +
			"or it would read a terminal)", false
	}
	// From here the command runs in the daemon: a signal cancels it there,
	// as Ctrl-C cancels a command run directly; a second one gives up.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		syscall.Write(fd, []byte{daemon.Cancel})
		<-sigs
		os.Stderr.WriteString("fairway: interrupted again; not waiting for the daemon to stop the command\n")
		os.Exit(130)
	}()
	var exit [5]byte
	if readFull(fd, exit[:]) != nil || exit[0] != daemon.Exited {
		// Never run again here: the command may have written already.
		os.Stderr.WriteString(lostDaemon(daemonPID, log, logStart))
		return 1, true, "", false
	}
	code = daemon.Code(exit[1:])
	if fd := daemon.BrokenStreamOf(code); fd != 0 {
		dieOfBrokenStream(fd)
	}
	return code, true, "", false
}

// lostDaemon says what became of a command whose daemon stopped
// answering while it ran: a daemon that ended (a crash the daemon could
// not recover, such as a panic in a goroutine, or a kill) is named with
// the first crash line it logged since the request, and the command is
// not run again, since it may have done part or all of its work.
func lostDaemon(pid int, log string, logStart int64) string {
	const notAgain = " The command may have done some or all of its work, so it is not run again: look before you rerun it " +
		"(FAIRWAY_DAEMON=off runs commands without the daemon).\n"
	if pid <= 0 || !ended(pid) {
		return "fairway: the connection to the fairwayd daemon dropped before the command finished." + notAgain
	}
	why := ""
	if line := crashLine(log, logStart); line != "" {
		why = ": " + line
	}
	return "fairway: the fairwayd daemon (pid " + strconv.Itoa(pid) + ") ended while running this command" + why +
		" (its log: " + log + ")." + notAgain
}

// ended reports whether process pid has exited (or is exiting: its
// connection closes before it is reaped), waiting a little for it.
func ended(pid int) bool {
	for range 50 {
		var b [512]byte
		f, err := syscall.Open("/proc/"+strconv.Itoa(pid)+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return true
		}
		n, _ := syscall.Read(f, b[:])
		syscall.Close(f)
		// "pid (name) S ...": the state follows the last parenthesis.
		for i := n - 1; i >= 0; i-- {
			if b[i] == ')' {
				if i+2 < n && (b[i+2] == 'Z' || b[i+2] == 'X') {
					return true
				}
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// crashLine returns the first line the Go runtime writes as a process
// dies (panic, fatal error, a fatal signal) in the log after offset from,
// or "".
func crashLine(log string, from int64) string {
	f, err := syscall.Open(log, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return ""
	}
	defer syscall.Close(f)
	b := make([]byte, 64<<10)
	n, err := syscall.Pread(f, b, from)
	if err != nil || n <= 0 {
		return ""
	}
	b = b[:n]
	for len(b) > 0 {
		end := 0
		for end < len(b) && b[end] != '\n' {
			end++
		}
		line := string(b[:end])
		if hasPrefix(line, "panic: ") || hasPrefix(line, "fatal error: ") || isSignalLine(line) {
			if len(line) > 300 {
				line = line[:300] + "..."
			}
			return line
		}
		if end == len(b) {
			break
		}
		b = b[end+1:]
	}
	return ""
}

func hasPrefix(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

// isSignalLine matches the runtime's "SIGSEGV: segmentation violation".
func isSignalLine(s string) bool {
	i := 3
	for i < len(s) && s[i] >= 'A' && s[i] <= 'Z' {
		i++
	}
	return hasPrefix(s, "SIG") && i > 3 && hasPrefix(s[i:], ": ")
}

// dieOfBrokenStream ends the front as the command run directly ended: of
// SIGPIPE, which Go raises on a write to fd 1 or 2 that nobody reads. It
// writes only when poll says the stream still has no reader.
func dieOfBrokenStream(fd int) {
	const pollOut, pollErr = 0x4, 0x8
	pfd := struct {
		fd             int32
		events, revent int16
	}{int32(fd), pollOut, 0}
	var zero syscall.Timespec
	n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
	if errno == 0 && n == 1 && pfd.revent&pollErr != 0 {
		stream := os.Stdout
		if fd == 2 {
			stream = os.Stderr
		}
		stream.Write([]byte{'\n'})
	}
	os.Exit(128 + int(syscall.SIGPIPE))
}

func dial(socket string) (int, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: socket}); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}

// startDaemon starts `fairwayd daemon` detached (its own session, its
// output to a log beside the socket) and does not wait for it. It
// inherits no environment but the temporary folder and its idle time:
// every request brings its own.
func startDaemon(engine, dir, key, socket string) {
	null, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer syscall.Close(null)
	log, err := syscall.Open(daemon.Log(dir, key), syscall.O_WRONLY|syscall.O_CREAT|syscall.O_APPEND|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return
	}
	defer syscall.Close(log)
	var env []string
	if v, ok := syscall.Getenv("TMPDIR"); ok {
		env = append(env, "TMPDIR="+v)
	}
	// A bad idle time is the daemon's only: the command still runs (by
	// exec), and the daemon starts with its default rather than refuse
	// to start on every command.
	if v := os.Getenv("FAIRWAY_DAEMON_IDLE"); v != "" {
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			os.Stderr.WriteString("fairway: $FAIRWAY_DAEMON_IDLE is " + strconv.Quote(v) + ": want a positive duration such as 30s or 10m; " +
				"the daemon starts with its default idle time\n")
		} else {
			env = append(env, "FAIRWAY_DAEMON_IDLE="+v)
		}
	}
	syscall.ForkExec(engine, []string{engine, "daemon", "--socket", socket}, &syscall.ProcAttr{
		Dir: "/", Env: env, Files: []uintptr{uintptr(null), uintptr(log), uintptr(log)},
		Sys: &syscall.SysProcAttr{Setsid: true},
	})
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func readFull(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Read(fd, b)
		if err != nil {
			return err
		}
		if n == 0 {
			return errorString("connection closed")
		}
		b = b[n:]
	}
	return nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
