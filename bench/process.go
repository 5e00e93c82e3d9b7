package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// HelloWorld builds the smallest Go program that prints a line, with the
// go command on PATH, into dir: the floor a CLI's start cost is judged
// against on the same machine in the same run.
func HelloWorld(dir string) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is not on PATH, so no hello-world baseline can be built")
	}
	src := filepath.Join(dir, "hello")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	files := map[string]string{
		"go.mod":  "module hello\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	bin := filepath.Join(src, "hello")
	cmd := exec.Command(goCmd, "build", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build hello-world: %v: %s", err, out)
	}
	return bin, nil
}

// Cost is what one command costs as a whole process, medians over runs.
type Cost struct {
	Wall time.Duration // start to exit, as a user waits for it
	CPU  time.Duration // user and system time of the process: less swayed by a busy machine
}

// ProcessCosts runs each command n times, taking turns so that a busy
// moment of the machine falls on all of them alike, and returns each
// one's median wall and CPU time. env, when not nil, is every command's
// environment; nil inherits this process's.
func ProcessCosts(n int, cmds [][]string, env []string) ([]Cost, error) {
	walls := make([][]time.Duration, len(cmds))
	cpus := make([][]time.Duration, len(cmds))
	for range n {
		for i, c := range cmds {
			cmd := exec.Command(c[0], c[1:]...)
			cmd.Env = env
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("%v: %v: %s", c, err, out)
			}
			walls[i] = append(walls[i], time.Since(start))
			cpus[i] = append(cpus[i], cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
		}
	}
	out := make([]Cost, len(cmds))
	for i := range cmds {
		out[i] = Cost{Wall: Median(walls[i]), CPU: Median(cpus[i])}
	}
	return out, nil
}
