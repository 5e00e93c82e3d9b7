// Package daemon is what the fairway front (cmd/fairway) and the resident
// engine (`fairwayd daemon`) share: where the daemon's socket lives, how
// a request is framed, and which commands a daemon may run.
//
// The front links this package, and the front must start about as fast
// as a hello-world Go binary: it imports only errors, os, strconv and
// syscall, which such a binary pays for already.
package daemon

import (
	"errors"
	"os"
	"strconv"
	"syscall"
)

// Commands are the commands a daemon runs, by their full name: quick reads
// and writes agents call in loops. None spawns a process, reads a file
// the caller names, changes process-wide state or waits for a person at
// a terminal. Every other command goes to the engine by exec.
var Commands = []string{
	"version",
	"task list", "task show", "task create", "task update", "task move", "task take", "task close", "task cancel",
	"next", "prime",
	"dep add", "dep list", "dep remove",
	"evidence list", "evidence show",
	"claim", "claim list",
	"gate explain",
	"search",
	"actor list", "actor whoami",
	"lane list", "lane show",
	"session list", "session show", "session heartbeat",
	"review list", "waiver list",
	"hook claude", "hook codex",
}

// IsHelp reports whether arg asks for help the way the CLI's first word
// may: help, -h or --help.
func IsHelp(arg string) bool { return arg == "help" || arg == "-h" || arg == "--help" }

// MayServe is the front's quick filter: false means the command surely
// goes by exec. The daemon decides for certain (it knows every command
// and its flags) and may still decline.
func MayServe(args []string) bool {
	if len(args) == 0 || IsHelp(args[0]) {
		return true
	}
	for _, name := range Commands {
		if hasWords(args, name) {
			return true
		}
	}
	return false
}

// hasWords reports whether args begin with the words of name.
func hasWords(args []string, name string) bool {
	for i := 0; ; i++ {
		end := i
		for end < len(name) && name[end] != ' ' {
			end++
		}
		if len(args) == 0 || args[0] != name[i:end] {
			return false
		}
		args = args[1:]
		if end == len(name) {
			return true
		}
		i = end
	}
}

// Dir returns the folder the daemons' sockets live in, creating it:
// $XDG_RUNTIME_DIR/fairway when that is set and the user's own, else
// fairway-UID in the temporary folder. A folder that is not the user's
// own and private is refused: whoever can write there could answer in the
// daemon's place. Another user's runtime folder (root run with a user's
// environment, by sudo -E) is passed over: a folder root made there would
// shut its owner out.
func Dir() (string, error) {
	var dir string
	var st syscall.Stat_t
	if base := os.Getenv("XDG_RUNTIME_DIR"); base != "" && base[0] == '/' && syscall.Stat(base, &st) == nil && st.Uid == uint32(os.Getuid()) {
		dir = base + "/fairway"
	} else {
		dir = os.TempDir() + "/fairway-" + strconv.Itoa(os.Getuid())
	}
	if err := syscall.Mkdir(dir, 0o700); err != nil && err != syscall.EEXIST {
		return "", err
	}
	return dir, CheckDir(dir)
}

// CheckDir refuses a socket folder that is a symbolic link, not a folder,
// not owned by this user, or open to the group or others.
func CheckDir(dir string) error {
	var st syscall.Stat_t
	if err := syscall.Lstat(dir, &st); err != nil {
		return err
	}
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFDIR:
		return errors.New(dir + " is not a folder")
	case st.Uid != uint32(os.Getuid()):
		return errors.New(dir + " is not owned by this user")
	case st.Mode&0o077 != 0:
		return errors.New(dir + " is open to other users (mode " + strconv.FormatUint(uint64(st.Mode&0o777), 8) + "; want 700)")
	}
	return nil
}

// Key names the daemon of one engine build: its path, device, inode, size,
// modification time and change time. A rebuilt engine gets a fresh daemon;
// the old one exits once a new one tells it (Retire). The change time is
// there because nobody can set it: a build copied over the engine in place
// with its size and modification time kept (cp -p) changes only that.
func Key(engine string) (string, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(engine, &st); err != nil {
		return "", err
	}
	parts := []string{engine}
	for _, n := range []uint64{uint64(st.Dev), st.Ino, uint64(st.Size), uint64(st.Mtim.Sec), uint64(st.Mtim.Nsec), uint64(st.Ctim.Sec), uint64(st.Ctim.Nsec)} {
		parts = append(parts, strconv.FormatUint(n, 16))
	}
	return hash(parts...), nil
}

// hash is FNV-1a of parts, in 16 hex digits: a name only has to differ
// between builds or rights; the folder's owner check, not the name, keeps
// others out.
func hash(parts ...string) string {
	h := uint64(14695981039346656037)
	for _, s := range parts {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	s := strconv.FormatUint(h, 16)
	for len(s) < 16 {
		s = "0" + s
	}
	return s
}

// SocketKey names the daemon of one engine build for callers of one set
// of rights: a caller with other rights (a sandbox) gets a daemon of its
// own instead of being declined by, or served by, one with more.
func SocketKey(build, rights string) string { return build + "-" + hash(rights) }

// Slots is how many daemons one engine build may run for callers whose
// rights read alike (SocketKey) but are not (a Landlock domain): the
// front tries them in turn, passing over a daemon of other rights.
const Slots = 4

// SlotKey is the key of slot n of a SocketKey: slot 0 is the key itself.
func SlotKey(key string, n int) string {
	if n == 0 {
		return key
	}
	return key + "-" + strconv.Itoa(n)
}

// BuildOf returns the build key of a socket, lock or log file name made
// by SocketKey, or "" for another name.
func BuildOf(path string) string {
	base := path[lastSlash(path)+1:]
	const prefix = "fairwayd-"
	if len(base) < len(prefix)+33 || base[:len(prefix)] != prefix || base[len(prefix)+16] != '-' {
		return ""
	}
	return base[len(prefix) : len(prefix)+16]
}

// SlotOf returns the slot of a socket, lock or log file name made by
// SlotKey from a SocketKey: 0 for the first slot and for another name.
func SlotOf(path string) int {
	if BuildOf(path) == "" {
		return 0
	}
	base := path[lastSlash(path)+1:]
	rest := base[len("fairwayd-")+33:]
	if len(rest) < 2 || rest[0] != '-' {
		return 0
	}
	n := 0
	for i := 1; i < len(rest) && rest[i] != '.'; i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return 0
		}
		n = n*10 + int(rest[i]-'0')
	}
	return n
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

// rightsFields are the lines of /proc/PID/status that decide what a
// process may do to files: its umask (files it creates get its modes),
// user and group ids, supplementary groups, capabilities,
// no-new-privileges and seccomp state.
var rightsFields = []string{"Umask", "Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters"}

// Rights describes what the process pid ("self", or a number) may do and
// see: rightsFields, every resource limit (soft and hard), its mount,
// user and pid namespaces and root folder, and its security label. Two
// processes with the same text act alike on files. Landlock has no
// trace in /proc; a Landlock domain shows only in that one process may
// not read the other's namespaces (Rights fails): the daemon reads each
// caller's, the front reads its daemon's, and a front refused passes on
// to the next of the Slots.
func Rights(pid string) (string, error) {
	proc := "/proc/" + pid + "/"
	// Read with bare system calls: the front pays for this on every
	// command.
	status, err := readProc(proc + "status")
	if err != nil {
		return "", err
	}
	var b []byte
	for line := range lines(status) {
		for i := 0; i < len(line); i++ {
			if line[i] == ':' {
				if name := string(line[:i]); contains(rightsFields, name) {
					b = appendFields(append(append(b, name...), ':'), line[i+1:])
				}
				break
			}
		}
	}
	if len(b) == 0 {
		return "", errors.New(proc + "status has no rights")
	}
	limits, err := readProc(proc + "limits")
	if err != nil {
		return "", err
	}
	for line := range lines(limits) {
		b = appendFields(b, line)
	}
	var target [4096]byte
	for _, link := range []string{"ns/mnt", "ns/user", "ns/pid", "root"} {
		n, err := syscall.Readlink(proc+link, target[:])
		if err != nil {
			return "", errors.New(proc + link + ": " + err.Error())
		}
		b = append(append(append(b, link...), ' '), target[:n]...)
		b = append(b, '\n')
	}
	label, err := readProc(proc + "attr/current")
	if err != nil {
		label = []byte("none") // no security module that labels processes
	}
	b = appendFields(append(b, "label:"...), label)
	return string(b), nil
}

// readProc reads a small file of /proc whole.
func readProc(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, errors.New(path + ": " + err.Error())
	}
	defer syscall.Close(fd)
	b := make([]byte, 0, 4096)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := syscall.Read(fd, b[len(b):cap(b)])
		if err != nil {
			return nil, errors.New(path + ": " + err.Error())
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
}

// lines yields the lines of b.
func lines(b []byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			end := 0
			for end < len(b) && b[end] != '\n' {
				end++
			}
			if !yield(b[:end]) || end == len(b) {
				return
			}
			b = b[end+1:]
		}
	}
}

// appendFields appends the words of s, one space apart, and a newline.
func appendFields(b, s []byte) []byte {
	first := true
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == 0) {
			i++
		}
		start := i
		for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != 0 {
			i++
		}
		if i > start {
			if !first {
				b = append(b, ' ')
			}
			b, first = append(b, s[start:i]...), false
		}
	}
	return append(b, '\n')
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Socket, Lock and Log are the files of the daemon of key in dir.
func Socket(dir, key string) string { return dir + "/fairwayd-" + key + ".sock" }
func Lock(dir, key string) string   { return dir + "/fairwayd-" + key + ".lock" }
func Log(dir, key string) string    { return dir + "/fairwayd-" + key + ".log" }

// MaxSocketPath is the longest path a unix socket address holds.
const MaxSocketPath = 107

// The conversation on one connection. The front sends a request (Magic, a
// 4-byte little-endian length, then the body) with its fds 0, 1 and 2
// attached to the first bytes. The daemon answers Declined (run the
// engine yourself: nothing was run), OtherRights (the caller's rights
// are not the daemon's: nothing was run; try the next slot) or Running,
// then Exited and a 4-byte exit code. While it runs, the front may send Cancel (it got SIGINT or
// SIGTERM); closing the connection cancels too.
const (
	Magic    = "FWY1"
	Declined = 'D'
	// OtherRights came as Declined from older daemons.
	OtherRights = 'O'
	Running     = 'R'
	Exited      = 'X'
	Cancel      = 'C'
)

// Retire is the whole of a connection that asks a daemon whether its
// engine is still the build it was started from: a new daemon sends it
// to every other. A daemon whose engine file has changed (rebuilt,
// replaced, gone) answers Retiring, takes no new request and exits once
// the requests it runs have finished; any other answers Kept. The daemon
// looks for itself, so the question is harmless from anyone.
const Retire = "FWYQ\x00\x00\x00\x00"

const (
	Retiring = 'Q'
	Kept     = 'K'
)

// MaxRequest bounds a request body: arguments and environment.
const MaxRequest = 4 << 20

// Request is one command for the daemon: its arguments, the caller's
// whole environment (NAME=VALUE) and working folder.
type Request struct {
	Args []string
	Env  []string
	Dir  string
}

// Encode returns the request as sent: Magic, the body's length, the body.
func (r *Request) Encode() []byte {
	b := append([]byte(Magic), 0, 0, 0, 0)
	b = appendList(b, r.Args)
	b = appendList(b, r.Env)
	b = appendString(b, r.Dir)
	putUint32(b[len(Magic):], uint32(len(b)-HeaderSize))
	return b
}

// HeaderSize is the length of Magic and the body's length.
const HeaderSize = len(Magic) + 4

// BodySize reads the body's length from a header, refusing a header that
// is not one or a body over MaxRequest.
func BodySize(header []byte) (int, error) {
	if len(header) != HeaderSize || string(header[:len(Magic)]) != Magic {
		return 0, errors.New("not a fairway request")
	}
	n := getUint32(header[len(Magic):])
	if n > MaxRequest {
		return 0, errors.New("request larger than " + strconv.Itoa(MaxRequest) + " bytes")
	}
	return int(n), nil
}

// Decode reads a request body.
func Decode(body []byte) (*Request, error) {
	var r Request
	var ok bool
	if r.Args, body, ok = readList(body); !ok {
		return nil, errMalformed
	}
	if r.Env, body, ok = readList(body); !ok {
		return nil, errMalformed
	}
	if r.Dir, body, ok = readString(body); !ok || len(body) != 0 {
		return nil, errMalformed
	}
	return &r, nil
}

var errMalformed = errors.New("malformed request")

func appendList(b []byte, list []string) []byte {
	b = appendUint32(b, uint32(len(list)))
	for _, s := range list {
		b = appendString(b, s)
	}
	return b
}

func appendString(b []byte, s string) []byte { return append(appendUint32(b, uint32(len(s))), s...) }

func readList(b []byte) ([]string, []byte, bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := getUint32(b)
	b = b[4:]
	if uint64(n)*4 > uint64(len(b)) { // each string takes at least its length
		return nil, nil, false
	}
	list := make([]string, 0, n)
	for range n {
		s, rest, ok := readString(b)
		if !ok {
			return nil, nil, false
		}
		list, b = append(list, s), rest
	}
	return list, b, true
}

func readString(b []byte) (string, []byte, bool) {
	if len(b) < 4 {
		return "", nil, false
	}
	n := getUint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return "", nil, false
	}
	return string(b[4 : 4+n]), b[4+n:], true
}

func appendUint32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

func putUint32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func getUint32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// BrokenStream is the exit code sent for a command that wrote to the
// caller's standard output (fd 1) or error (fd 2) once nobody read it: run
// directly it would have died of SIGPIPE there, so the front does.
func BrokenStream(fd int) int { return -fd }

// BrokenStreamOf returns the stream code names, or 0 when code is an
// ordinary exit code.
func BrokenStreamOf(code int) int {
	if code == -1 || code == -2 {
		return -code
	}
	return 0
}

// PutCode and Code are the exit code as sent after Exited.
func PutCode(code int) []byte { return appendUint32([]byte{Exited}, uint32(int32(code))) }
func Code(b []byte) int       { return int(int32(getUint32(b))) }
