package daemon

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestRequest_RoundTrip(t *testing.T) {
	in := &Request{Args: []string{"task", "list", "", "--dir", "a b"}, Env: []string{"A=1", "EMPTY=", "X=y=z"}, Dir: "/home/u/src"}
	b := in.Encode()
	n, err := BodySize(b[:HeaderSize])
	if err != nil || n != len(b)-HeaderSize {
		t.Fatalf("BodySize = %d, %v; want %d", n, err, len(b)-HeaderSize)
	}
	out, err := Decode(b[HeaderSize:])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.Args, in.Args) || !slices.Equal(out.Env, in.Env) || out.Dir != in.Dir {
		t.Fatalf("decoded %+v, want %+v", out, in)
	}
}

func TestRequest_MalformedIsRefused(t *testing.T) {
	good := (&Request{Args: []string{"version"}, Dir: "/"}).Encode()
	body := good[HeaderSize:]
	for name, b := range map[string][]byte{
		"empty":          nil,
		"truncated":      body[:len(body)-1],
		"trailing bytes": append(append([]byte(nil), body...), 0),
		"huge count":     {0xff, 0xff, 0xff, 0x7f},
	} {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, err := BodySize([]byte("HTTP/1.1")); err == nil {
		t.Error("a header that is not ours was accepted")
	}
	big := append([]byte(Magic), 0, 0, 0, 0x10) // 256 MiB
	if _, err := BodySize(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a body over MaxRequest: %v", err)
	}
}

func TestMayServe(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"help"}, true},
		{[]string{"--help"}, true},
		{[]string{"task", "list", "--json"}, true},
		{[]string{"task", "close", "T-1"}, true},
		{[]string{"claim", "T-1", "done"}, true},
		{[]string{"task"}, false},
		{[]string{"tasks", "list"}, false},
		{[]string{"run", "T-1", "--", "true"}, false},
		{[]string{"serve"}, false},
		{[]string{"session", "start"}, false},
		{[]string{"evidence", "add", "T-1", "-"}, false},
	} {
		if got := MayServe(c.args); got != c.want {
			t.Errorf("MayServe(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

func TestCheckDir(t *testing.T) {
	base := t.TempDir()
	private := filepath.Join(base, "private")
	os.Mkdir(private, 0o700)
	if err := CheckDir(private); err != nil {
		t.Errorf("a private folder: %v", err)
	}
	for _, mode := range []os.FileMode{0o777, 0o770, 0o701, 0o755} {
		dir := filepath.Join(base, mode.String())
		os.Mkdir(dir, 0o700)
		os.Chmod(dir, mode)
		if err := CheckDir(dir); err == nil {
			t.Errorf("mode %o accepted", mode)
		}
	}
	link := filepath.Join(base, "link")
	os.Symlink(private, link)
	if err := CheckDir(link); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("a symbolic link to a private folder: %v", err)
	}
}

func TestKey_ChangesWithTheBuild(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fairwayd")
	os.WriteFile(path, []byte("one"), 0o755)
	k1, err := Key(path)
	if err != nil || len(k1) != 16 {
		t.Fatalf("Key = %q, %v", k1, err)
	}
	if k, _ := Key(path); k != k1 {
		t.Fatalf("the same file gave %q then %q", k1, k)
	}
	os.Remove(path)
	os.WriteFile(path, []byte("two!"), 0o755) // a rebuild: new inode and size
	if k2, _ := Key(path); k2 == k1 {
		t.Fatalf("a rebuilt engine kept the key %q", k1)
	}
}

// An engine overwritten in place (cp onto it keeps the inode) with a build
// of the same size, its modification time kept (cp -p, install -p, a
// tarball), must not be served by the old build's daemon.
func TestKey_ChangesWhenTheEngineIsOverwrittenInPlaceKeepingSizeAndTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fairwayd")
	if err := os.WriteFile(path, []byte("build one"), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := Key(path)
	if err := os.WriteFile(path, []byte("build two"), 0o755); err != nil { // same inode, same size
		t.Fatal(err)
	}
	if err := os.Chtimes(path, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if after, _ := Key(path); after == before {
		t.Fatalf("the engine was overwritten with another build and kept the key %q: the old daemon would serve it", before)
	}
}

// Root run with a user's environment (sudo -E, su without -) has that
// user's $XDG_RUNTIME_DIR: a socket folder made there is root's, and the
// user's own front refuses it for good (they cannot even empty it). A
// runtime folder that is not this user's is passed over.
func TestDir_PassesOverARuntimeFolderOfAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to own a folder as another user")
	}
	theirs := t.TempDir()
	if err := os.Chown(theirs, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_RUNTIME_DIR", theirs)
	t.Setenv("TMPDIR", t.TempDir())
	dir, err := Dir()
	if err != nil {
		t.Fatalf("Dir: %v", err)
	}
	if want := filepath.Join(os.Getenv("TMPDIR"), "fairway-0"); dir != want {
		t.Errorf("Dir = %s, want %s", dir, want)
	}
	if entries, _ := os.ReadDir(theirs); len(entries) != 0 {
		t.Errorf("made %v in another user's runtime folder", entries)
	}
}

// The socket's name carries the caller's rights: a caller with another
// umask or any other resource limit gets a daemon of its own.
func TestRights_FollowUmaskAndEveryLimit(t *testing.T) {
	base, err := Rights("self")
	if err != nil {
		t.Fatal(err)
	}
	if byPid, err := Rights(strconv.Itoa(os.Getpid())); err != nil || byPid != base {
		t.Fatalf("by pid: %v\n%s\nwant\n%s", err, byPid, base)
	}
	for _, want := range []string{"Umask:", "Uid:", "Groups:", "CapEff:", "NoNewPrivs:", "Seccomp:", "Max open files", "Max cpu time", "ns/mnt mnt:[", "ns/user user:[", "ns/pid pid:[", "root /", "label:"} {
		if !strings.Contains(base, want) {
			t.Errorf("no %q in\n%s", want, base)
		}
	}
	old := syscall.Umask(0o077)
	changed, _ := Rights("self")
	syscall.Umask(old)
	if changed == base || SocketKey("b", changed) == SocketKey("b", base) {
		t.Errorf("umask 077 left the rights as they were")
	}
	for _, res := range []int{syscall.RLIMIT_NOFILE, syscall.RLIMIT_CORE, syscall.RLIMIT_CPU, syscall.RLIMIT_DATA, syscall.RLIMIT_FSIZE} {
		var was syscall.Rlimit
		if err := syscall.Getrlimit(res, &was); err != nil {
			t.Fatal(err)
		}
		lower := was
		switch {
		case was.Cur == ^uint64(0) && was.Max == ^uint64(0):
			lower.Cur = 1 << 50
		case was.Cur > 0:
			lower.Cur--
		default:
			lower.Cur = min(1, was.Max)
		}
		if err := syscall.Setrlimit(res, &lower); err != nil {
			t.Fatalf("limit %d: %v", res, err)
		}
		changed, _ := Rights("self")
		syscall.Setrlimit(res, &was)
		if changed == base {
			t.Errorf("limit %d from %+v to %+v left the rights as they were", res, was, lower)
		}
	}
	if after, _ := Rights("self"); after != base {
		t.Fatalf("restored, the rights differ:\n%s\nwant\n%s", after, base)
	}
	if _, err := Rights("999999999"); err == nil {
		t.Error("the rights of no process were read")
	}
}

func TestSocketKey_NamesBuildAndRights(t *testing.T) {
	k := SocketKey("0123456789abcdef", "Umask: 0022\n")
	if len(k) != 33 || k[:17] != "0123456789abcdef-" || k == SocketKey("0123456789abcdef", "Umask: 0077\n") {
		t.Fatalf("SocketKey = %q", k)
	}
	for path, want := range map[string]string{
		Socket("/run/fw", k):                     "0123456789abcdef",
		Lock("/run/fw", k):                       "0123456789abcdef",
		"/run/fw/fairwayd-0123456789abcdef.sock": "",
		"/run/fw/fairwayd-test.sock":             "",
		"fairwayd-" + k + ".sock":                "0123456789abcdef",
	} {
		if got := BuildOf(path); got != want {
			t.Errorf("BuildOf(%q) = %q, want %q", path, got, want)
		}
	}
	for path, want := range map[string]int{
		Socket("/run/fw", k):             0,
		Socket("/run/fw", SlotKey(k, 1)): 1,
		Log("/run/fw", SlotKey(k, 3)):    3,
		"/run/fw/fairwayd-test.sock":     0,
	} {
		if got := SlotOf(path); got != want {
			t.Errorf("SlotOf(%q) = %d, want %d", path, got, want)
		}
	}
	if BuildOf(Socket("/run/fw", SlotKey(k, 2))) != "0123456789abcdef" {
		t.Errorf("BuildOf of a later slot: %q", BuildOf(Socket("/run/fw", SlotKey(k, 2))))
	}
}
