package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{ctx: context.Background(), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if code := a.run([]string{"completion", shell}); code != exitOK {
		t.Fatalf("completion %s: exit %d: %s", shell, code, errb.String())
	}
	return out.String()
}

func TestCompletion_ScriptsNameEveryCommandAndFlag(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		script := completionScript(t, shell)
		for _, c := range commands {
			if c.hidden {
				continue // internal (the daemon): left out on purpose
			}
			for _, word := range strings.Fields(c.name) {
				if !strings.Contains(script, word) {
					t.Errorf("%s script does not name %q of %q", shell, word, c.name)
				}
			}
			fs, _ := (&app{}).flagSet(c)
			fs.VisitAll(func(f *flag.Flag) {
				want := flagName(f.Name)
				if shell == "fish" {
					want = "-l " + f.Name
					if len(f.Name) == 1 {
						want = "-s " + f.Name
					}
				}
				if !strings.Contains(script, want) {
					t.Errorf("%s script does not offer %s for %q", shell, want, c.name)
				}
			})
		}
	}
}

func TestCompletion_BashScriptParses(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	file := filepath.Join(t.TempDir(), "fairway.bash")
	os.WriteFile(file, []byte(completionScript(t, "bash")), 0o644)
	if out, err := exec.Command(bash, "-n", file).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
}

// TestCompletion_BashCompletes runs the bash script's function on typed
// command lines and checks what it offers.
func TestCompletion_BashCompletes(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	file := filepath.Join(t.TempDir(), "fairway.bash")
	os.WriteFile(file, []byte(completionScript(t, "bash")), 0o644)
	cases := []struct {
		line string // the words typed; the last is being completed
		want string
	}{
		{"fairway ta", "task"},
		{"fairway task cl", "close"},
		{"fairway task create --ti", "--title"},
		{"fairway run --task X --ta", "--task"},
		{"fairway evidence get EV-1 -", "--as --dir --json -o --part --server --session --token"},
		{"fairway claim l", "list"},
		{"fairway claim --t", "--task --token"},
		{"fairway completion f", "fish"},
		{"fairway serve --ad", "--addr"},
	}
	for _, c := range cases {
		words := strings.Fields(c.line)
		if strings.HasSuffix(c.line, " ") {
			words = append(words, "")
		}
		script := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _fairway; echo "${COMPREPLY[*]}"`
		out, err := exec.Command(bash, append([]string{"-c", script, "bash", file}, words...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", c.line, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("%q offers %q, want %q", c.line, got, c.want)
		}
	}
}

func TestCompletion_UnknownShellIsUsageError(t *testing.T) {
	var out, errb bytes.Buffer
	a := &app{ctx: context.Background(), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if code := a.run([]string{"completion", "tcsh"}); code != exitUsage || errb.String() != "fairway: no completion for \"tcsh\": want bash, zsh or fish\n" {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}
