package runner

import (
	"os/exec"
	"strings"

	"fairway"
)

// SourceState reads the commit, branch and dirty state of the git tree at
// dir with one git call; nil when dir is not in a git tree or git is
// missing.
func SourceState(dir string) *fairway.SourceState {
	cmd := exec.Command("git", "status", "--porcelain=v2", "--branch", "--untracked-files=no")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	return parseStatus(string(out))
}

func parseStatus(out string) *fairway.SourceState {
	s := &fairway.SourceState{}
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "# branch.oid "):
			s.Commit = strings.TrimPrefix(line, "# branch.oid ")
		case strings.HasPrefix(line, "# branch.head "):
			if b := strings.TrimPrefix(line, "# branch.head "); b != "(detached)" {
				s.Branch = b
			}
		case line != "" && !strings.HasPrefix(line, "#"):
			s.Dirty = true
		}
	}
	if s.Commit == "(initial)" {
		s.Commit = ""
	}
	return s
}
