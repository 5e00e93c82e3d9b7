package scope_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/scope"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func put(t *testing.T, dir, path, body string) {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, filepath.Dir(path)), 0o755)
	if err := os.WriteFile(filepath.Join(dir, path), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Changed lists what differs from the base: committed since, staged,
// modified, deleted, both sides of a rename, and untracked files, but not
// ignored ones; from a subfolder too, as repository paths.
func TestChanged_EveryKindOfChange(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	put(t, dir, ".gitignore", "build/\n")
	put(t, dir, "a/keep.go", "keep\n")
	put(t, dir, "a/edit.go", "v1\n")
	put(t, dir, "a/gone.go", "gone\n")
	put(t, dir, "a/old.go", "a file long enough to be seen as renamed\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "base")
	base := git(t, dir, "rev-parse", "HEAD")
	if head, err := scope.Head(dir); err != nil || head != base {
		t.Fatalf("Head = %q, %v; want %s", head, err, base)
	}

	put(t, dir, "b/committed.go", "new\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "later")
	put(t, dir, "a/edit.go", "v2\n")
	os.Remove(filepath.Join(dir, "a/gone.go"))
	os.MkdirAll(filepath.Join(dir, "c"), 0o755)
	git(t, dir, "mv", "a/old.go", "c/new.go")
	put(t, dir, "d/untracked.txt", "u\n")
	put(t, dir, "build/out.bin", "ignored\n")

	for _, from := range []string{dir, filepath.Join(dir, "a")} {
		got, err := scope.Changed(from, base)
		if err != nil {
			t.Fatal(err)
		}
		want := "a/edit.go a/gone.go a/old.go b/committed.go c/new.go d/untracked.txt"
		if strings.Join(got, " ") != want {
			t.Fatalf("Changed from %s = %v, want %s", from, got, want)
		}
	}
	if got, err := scope.Changed(dir, git(t, dir, "rev-parse", "HEAD")); err != nil || len(got) != 5 {
		t.Fatalf("from HEAD: %v %v", got, err)
	}
}

// A base that is not a commit id, or not a commit of the tree, and a
// folder outside any tree, are refused naming the field.
func TestChanged_RefusesWhatIsNotAChange(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	put(t, dir, "x", "x\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "base")
	for _, c := range []struct{ dir, base, field string }{
		{dir, "--output=/tmp/x", "base"},
		{dir, "HEAD", "base"},
		{dir, "0123456789abcdef0123456789abcdef01234567", "base"},
		{t.TempDir(), "0123abcd", "dir"},
	} {
		_, err := scope.Changed(c.dir, c.base)
		var fe *fairway.Error
		if err == nil || !asError(err, &fe) || fe.Field != c.field {
			t.Errorf("Changed(%s, %s) = %v, want an error on %s", c.dir, c.base, err, c.field)
		}
	}
}

func asError(err error, fe **fairway.Error) bool {
	e, ok := err.(*fairway.Error)
	*fe = e
	return ok
}
