package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestREADME_CommandsRunAsWritten runs every line of the README's ```sh
// blocks, in order, as one shell session would: one working folder, one
// environment. Each fairway command runs in-process and must exit 0, or
// the code its comment names ("# exit N: ...").
//
// The rule for what is not run: lines that start a server (serve, demo
// without --load-only) or a benchmark, or run the Go toolchain (go test,
// go build); the shell's export sets the environment; echo TEXT > FILE
// writes a file and echo TEXT | fairway ... feeds standard input. Any
// other shell command fails the test, so the README stays runnable.
func TestREADME_CommandsRunAsWritten(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	policy, err := os.ReadFile(filepath.Join("..", "..", "demo", "governance.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	os.MkdirAll(filepath.Join(work, "demo"), 0o755)
	os.WriteFile(filepath.Join(work, "demo", "governance.yaml"), policy, 0o644)
	t.Chdir(work)
	env := map[string]string{"PWD": work}
	ran := 0
	for _, line := range shLines(string(readme)) {
		code, words, err := parseLine(line, env)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		var stdin string
		switch {
		case len(words) == 0:
			continue
		case words[0] == "export":
			for _, kv := range words[1:] {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			continue
		case words[0] == "echo" && len(words) == 4 && words[2] == ">":
			if err := os.WriteFile(words[3], []byte(words[1]+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		case words[0] == "echo" && len(words) > 3 && words[2] == "|":
			stdin, words = words[1]+"\n", words[3:]
		}
		args, ok := fairwayArgs(words)
		if !ok {
			t.Fatalf("README line %q is neither a fairway command nor a line the test knows to skip", line)
		}
		if skipped(args) {
			continue
		}
		var out, errb bytes.Buffer
		a := &app{ctx: context.Background(), stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
			getenv: func(k string) string { return env[k] }}
		if got := a.run(args); got != code {
			t.Errorf("README line %q: exit %d, want %d\nstdout: %s\nstderr: %s", line, got, code, out.String(), errb.String())
		}
		ran++
	}
	if ran < 25 {
		t.Fatalf("only %d README commands ran: are the ```sh blocks still there?", ran)
	}
}

// shLines returns the lines of the README's ```sh blocks, continuation
// lines joined.
func shLines(md string) []string {
	var out []string
	in := false
	var cont string
	for _, line := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in:
			if strings.HasSuffix(line, "\\") {
				cont += strings.TrimSuffix(line, "\\")
				continue
			}
			out = append(out, cont+line)
			cont = ""
		}
	}
	return out
}

var exitComment = regexp.MustCompile(`^#\s*exit (\d+)`)

// parseLine splits a shell line into words, expanding $NAME from env and
// reading the expected exit code from its comment.
func parseLine(line string, env map[string]string) (code int, words []string, err error) {
	var word strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, word.String())
		}
		word.Reset()
		inWord = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '#' && !inWord:
			if m := exitComment.FindStringSubmatch(line[i:]); m != nil {
				code, _ = strconv.Atoi(m[1])
			}
			return code, words, nil
		case c == ' ' || c == '\t':
			flush()
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return 0, nil, errUnclosed
			}
			word.WriteString(line[i+1 : i+1+end])
			inWord, i = true, i+1+end
		case c == '"':
			end := strings.IndexByte(line[i+1:], '"')
			if end < 0 {
				return 0, nil, errUnclosed
			}
			word.WriteString(os.Expand(line[i+1:i+1+end], func(k string) string { return env[k] }))
			inWord, i = true, i+1+end
		case c == '$':
			j := i + 1
			for j < len(line) && (line[j] == '_' || line[j] >= 'A' && line[j] <= 'Z' || line[j] >= 'a' && line[j] <= 'z' || line[j] >= '0' && line[j] <= '9') {
				j++
			}
			word.WriteString(env[line[i+1:j]])
			inWord, i = true, j-1
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return code, words, nil
}

var errUnclosed = usagef("unclosed quote")

// fairwayArgs strips how the README invokes fairway.
func fairwayArgs(words []string) ([]string, bool) {
	switch {
	case words[0] == "bin/fairway" || words[0] == "./fairway" || words[0] == "fairway":
		return words[1:], true
	case words[0] == "go":
		return nil, true // the toolchain: go test, go build
	}
	return nil, false
}

// skipped reports whether a fairway command would start a server or a
// benchmark, or is the toolchain.
func skipped(args []string) bool {
	if args == nil {
		return true
	}
	switch args[0] {
	case "serve", "bench":
		return true
	case "demo":
		for _, a := range args {
			if a == "--load-only" {
				return false
			}
		}
		return true
	}
	return false
}
