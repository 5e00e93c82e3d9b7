package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
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

// Webhook is one CI event endpoint: which environment variable of the
// server holds its secret (the secret itself is never in the policy nor
// the ledger) and which service actor records what it receives.
type Webhook struct {
	SecretEnv string `yaml:"secret_env"`
	Actor     string `yaml:"actor"`
	// MaxSkew bounds how old a generic delivery's timestamp may be;
	// DefaultMaxSkew when empty.
	MaxSkew string `yaml:"max_skew"`

	maxSkew time.Duration
}

// DefaultMaxSkew is how far a generic delivery's timestamp may be from
// the server's clock.
const DefaultMaxSkew = 5 * time.Minute

// Skew returns the webhook's replay bound.
func (w *Webhook) Skew() time.Duration {
	if w.maxSkew == 0 {
		return DefaultMaxSkew
	}
	return w.maxSkew
}

var envNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,99}$`) })

func (c *checker) checkWebhooks() {
	for _, src := range sortedKeys(c.p.Webhooks) {
		w := c.p.Webhooks[src]
		path := "webhooks." + src
		if src != "github" && src != "generic" {
			c.errorf(path+"#key", "%q is not a webhook source: use github or generic", src)
		}
		if w == nil {
			c.errorf(path, "webhook %q has no settings", src)
			continue
		}
		if !envNameRE().MatchString(w.SecretEnv) {
			c.errorf(path+".secret_env", "%q is not an environment variable name (e.g. FAIRWAY_GITHUB_WEBHOOK_SECRET): name where the server finds the secret, never the secret", w.SecretEnv)
		}
		if !nameRE().MatchString(w.Actor) {
			c.errorf(path+".actor", "%q is not an actor name: name the service actor that records the events", w.Actor)
		}
		if w.MaxSkew != "" {
			d, err := time.ParseDuration(w.MaxSkew)
			if err != nil || d <= 0 || d > 24*time.Hour {
				c.errorf(path+".max_skew", "%q is not a duration between 1s and 24h", w.MaxSkew)
			}
			w.maxSkew = d
		}
	}
}
