package fairway_test

import (
	"strings"
	"testing"

	"fairway"
)

// A scope check's paths are repository paths as git lists them: a path
// with a ".." or "." element, a leading or doubled slash, or a backslash
// is refused, since "services/billing/../gpuaas/alloc.go" would match
// the task's "services/billing/**" and no layer's contract, hiding a
// change to another layer's code from both the scope requirement and the
// widening of the gate.
func TestScopeCheck_PathsMustBeRepositoryPaths(t *testing.T) {
	for _, p := range []string{
		"services/billing/../gpuaas/alloc.go", "../outside.go", "services/..", "./services/gpuaas/alloc.go",
		"services/./gpuaas/alloc.go", "/etc/passwd", "services//gpuaas/alloc.go", "services/gpuaas/",
	} {
		err := fairway.ScopeCheck{Task: "OPS-FIX-001", Paths: []string{"docs/ok.md", p}}.Validate()
		if fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), "paths") || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: %v, want a paths error naming it", p, err)
		}
		err = fairway.ScopeAcknowledge{Task: "OPS-FIX-001", Paths: []string{p}}.Validate()
		if fairway.ErrorCode(err) != fairway.EINVALID {
			t.Errorf("acknowledge %q: %v, want invalid", p, err)
		}
	}
	for _, p := range []string{"services/gpuaas/alloc.go", "README.md", ".github/workflows/ci.yml", "a..b/c...go", "dir with space/x"} {
		if err := (fairway.ScopeCheck{Task: "OPS-FIX-001", Paths: []string{p}}).Validate(); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
}
