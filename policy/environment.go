package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// EnvironmentClasses are the kinds of environment a policy may declare.
var EnvironmentClasses = []string{"kind", "dev", "staging", "production"}

// DefaultDeployClass is the protected change class whose approvals and
// rollback criteria a deploy to a protected environment needs, unless the
// environment names another.
const DefaultDeployClass = "production-deploy"

// Environment is a place deploy-runs go to.
type Environment struct {
	Description string `yaml:"description"`
	Class       string `yaml:"class"`
	// Protected environments take a deploy stage only with the change
	// class's approvals, its rollback criteria and an open approval
	// window (R5).
	Protected bool `yaml:"protected"`
	// ChangeClass is the protected change class a deploy here is;
	// DefaultDeployClass when empty.
	ChangeClass     string   `yaml:"change_class"`
	ApprovalWindows []Window `yaml:"approval_windows"`
	// Prerequisites name the policy's prerequisites that must be met (or
	// waived) before mutating checks run here: the kind capacity blocker.
	Prerequisites []string `yaml:"prerequisites"`
}

// Window is a span of time in which protected deploys may run.
type Window struct {
	Start time.Time `yaml:"start"`
	End   time.Time `yaml:"end"`
}

// Contains reports whether t is in [Start, End).
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// DeployClass returns the change class of a deploy to the environment.
func (e *Environment) DeployClass() string {
	if e.ChangeClass != "" {
		return e.ChangeClass
	}
	return DefaultDeployClass
}

// WindowAt returns the approval window open at t, or nil and the
// earliest window that opens after t (nil when none will).
func (e *Environment) WindowAt(t time.Time) (open, next *Window) {
	for i := range e.ApprovalWindows {
		w := &e.ApprovalWindows[i]
		if w.Contains(t) {
			return w, nil
		}
		if w.Start.After(t) && (next == nil || w.Start.Before(next.Start)) {
			next = w
		}
	}
	return nil, next
}

// checkEnvironments checks the environments section and what refers to
// it.
func (c *checker) checkEnvironments() {
	p := c.p
	for _, name := range sortedKeys(p.Environments) {
		e := p.Environments[name]
		path := "environments." + name
		if !nameRE().MatchString(name) {
			c.errorf(path+"#key", "%q is not a valid environment name", name)
		}
		if e == nil {
			c.errorf(path, "environment %q has no settings", name)
			continue
		}
		if !slices.Contains(EnvironmentClasses, e.Class) {
			c.errorf(path+".class", "%q is not an environment class: use one of %s", e.Class, strings.Join(EnvironmentClasses, ", "))
		}
		if e.ChangeClass != "" && !e.Protected {
			c.errorf(path+".change_class", "only a protected environment names the change class its deploys are")
		}
		if e.Protected && p.ProtectedClasses[e.DeployClass()] == nil {
			at := path
			if e.ChangeClass != "" {
				at += ".change_class"
			}
			c.errorf(at, "protected environment %q deploys as change class %q, which protected_change_classes does not define", name, e.DeployClass())
		}
		if len(e.ApprovalWindows) > 0 && !e.Protected {
			c.errorf(path+".approval_windows", "approval windows are for protected environments; mark it protected: true or remove them")
		}
		for i, pr := range e.Prerequisites {
			if p.Prerequisites[pr] == nil {
				c.errorf(fmt.Sprintf("%s.prerequisites[%d]", path, i), "prerequisite %q is not declared under prerequisites", pr)
			}
		}
		for i, w := range e.ApprovalWindows {
			wpath := fmt.Sprintf("%s.approval_windows[%d]", path, i)
			if w.Start.IsZero() || w.End.IsZero() {
				c.errorf(wpath, "a window needs start and end times (RFC 3339)")
			} else if !w.End.After(w.Start) {
				c.errorf(wpath+".end", "the window ends before it starts")
			}
		}
	}
	for i, r := range p.Rules {
		if r == nil {
			continue
		}
		for j, env := range r.DeployRuns {
			if p.Environments[env] == nil {
				c.errorf(fmt.Sprintf("rules[%d].deploy_runs[%d]", i, j), "environment %q is not declared under environments", env)
			}
		}
	}
}
