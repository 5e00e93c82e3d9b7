package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"

	"fairway"
	"fairway/secret"
)

// envNames are the environment variables whose presence is recorded;
// envValues are those whose values are safe to keep as well.
var (
	envNames = []string{"CI", "GITHUB_ACTIONS", "GITHUB_WORKFLOW", "GITHUB_RUN_ID", "GITHUB_SHA", "GITLAB_CI", "BUILDKITE",
		"JENKINS_URL", "TERM", "SHELL", "LANG", "LC_ALL", "TZ", "GOOS", "GOARCH", "GOFLAGS", "CGO_ENABLED", "NODE_ENV",
		"PATH", "HOME", "USER", "KUBECONFIG", "AWS_PROFILE", "AWS_REGION"}
	envValues = map[string]bool{"CI": true, "GITHUB_ACTIONS": true, "GITLAB_CI": true, "TERM": true, "SHELL": true, "LANG": true,
		"LC_ALL": true, "TZ": true, "GOOS": true, "GOARCH": true, "GOFLAGS": true, "CGO_ENABLED": true, "NODE_ENV": true, "AWS_REGION": true}
)

// Environment fingerprints the machine: OS, architecture, host, the
// versions of the tools asked for, and allow-listed variables read through
// lookup (os.LookupEnv when nil). A value that looks like a secret is
// never kept.
func Environment(tools []string, lookup func(string) (string, bool)) *fairway.Environment {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	host, _ := os.Hostname()
	env := &fairway.Environment{OS: runtime.GOOS, Arch: runtime.GOARCH, Host: printable(host, "the host name"), EnvValues: map[string]string{}}
	for _, name := range envNames {
		v, ok := lookup(name)
		if !ok {
			continue
		}
		env.EnvNames = append(env.EnvNames, name)
		// A value a record could not show safely is left out, as a
		// secret is: its name says the variable was set.
		if envValues[name] && !looksSecret(v) && fairway.CheckLine(name, v, 0) == nil {
			env.EnvValues[name] = v
		}
	}
	sort.Strings(env.EnvNames)
	if len(tools) > 0 {
		env.Tools = map[string]string{}
		for _, tool := range tools {
			env.Tools[printable(tool, "the tool's name")] = printable(toolVersion(tool), "the version "+tool+" printed")
		}
	}
	body, _ := fairway.CanonicalJSON(env)
	sum := sha256.Sum256(body)
	env.Fingerprint = "sha256:" + hex.EncodeToString(sum[:])
	return env
}

// printable returns s, or says that what was read could not be recorded
// when a record could not show it safely (fairway.CheckLine) or it looks
// like a secret, which the ledger would refuse: the environment is read,
// never refused, so a run is not stopped by a tool whose version line is
// coloured.
func printable(s, what string) string {
	if fairway.CheckLine("environment", s, 0) != nil {
		return "(" + what + " holds control characters: not recorded)"
	}
	if looksSecret(s) {
		// The ledger refuses a secret here; the value is left out, as a
		// secret variable's is, so that the run's record is kept.
		return "(" + what + " looks like a secret: not recorded)"
	}
	return s
}

func looksSecret(v string) bool {
	s := secret.NewScanner(nil)
	s.Write([]byte(v))
	s.Close()
	return len(s.Findings()) > 0
}

// toolVersion asks a tool for its version: "go version" style first, then
// "--version"; the first line is kept.
func toolVersion(tool string) string {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := exec.CommandContext(ctx, tool, args...).Output()
		cancel()
		if err == nil {
			line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			if line != "" {
				return line
			}
		}
	}
	return "unknown (" + tool + " did not report a version)"
}
