// Package scope reads what a change touched from a git work tree: the
// paths that differ from the commit the work started from, committed or
// not, and the files git does not track yet. The ledger maps them through
// the policy's layer contracts and the task's declared scope.
package scope

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"fairway"
)

// commitID is what a base may be: a commit's hex id, never an option
// or a ref that moves.
var commitID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{4,64}$`) })

// gitTimeout bounds one git command.
const gitTimeout = 30 * time.Second

func git(dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return out.String(), nil
}

// Head returns the commit the work tree at dir is on.
func Head(dir string) (string, error) {
	out, err := git(dir, "rev-parse", "--verify", "HEAD^{commit}")
	return strings.TrimSpace(out), err
}

// Changed lists the paths of the work tree at dir that differ from base,
// committed since or not (renames count as both paths), and the untracked
// files git does not ignore: repository paths with forward slashes,
// sorted, each once.
func Changed(dir, base string) ([]string, error) {
	if !commitID().MatchString(base) {
		return nil, fairway.FieldError("base", "%q is not a commit id (4 to 64 hex digits)", base)
	}
	top, err := git(dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fairway.FieldError("dir", "%s is not in a git work tree: %v", dir, err)
	}
	top = strings.TrimSpace(top)
	if _, err := git(top, "rev-parse", "--verify", base+"^{commit}"); err != nil {
		return nil, fairway.FieldError("base", "%s is not a commit of %s: %v", base, top, err)
	}
	diff, err := git(top, "diff", "--name-only", "--no-renames", "-z", base, "--")
	if err != nil {
		return nil, err
	}
	untracked, err := git(top, "ls-files", "--others", "--exclude-standard", "-z")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range strings.Split(diff+untracked, "\x00") {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}
