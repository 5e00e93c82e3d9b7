package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"fairway/bench"
)

// benchStartCost times whole fairway processes that agents call hundreds
// of times a session against a hello-world Go binary built in the same
// run (goal: at most 2x), by wall time and by the process's own CPU time.
// The goal rows run the fairway front beside this engine through a warm
// daemon the bench starts with a socket folder of its own and stops
// after; the engine run directly (the cold path: no daemon, or
// FAIRWAY_DAEMON=off) is shown beside them for information.
func benchStartCost(exe, work string, runs int, progress func(string, ...any)) ([]benchRow, error) {
	hello, err := bench.HelloWorld(work)
	if err != nil {
		return []benchRow{{Name: "CLI start cost", Unit: "skipped", Goal: "<= 2x hello-world", Note: err.Error()}}, nil
	}
	dir := filepath.Join(work, "start")
	setup := [][]string{
		{"actor", "create", "alice", "--kind", "human"},
		{"task", "create", "START-1", "--title", "start cost", "--as", "alice"},
		{"task", "create", "START-2", "--title", "waits on START-1", "--as", "alice"},
		{"dep", "add", "START-2", "START-1", "--as", "alice"},
	}
	for _, args := range setup {
		if out, err := exec.Command(exe, append(args, "--dir", dir)...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("start cost setup %v: %v: %s", args, err, out)
		}
	}
	type measured struct {
		name, goal, note string
		argv             []string
	}
	var list []measured
	front := filepath.Join(filepath.Dir(exe), "fairway")
	var rows []benchRow
	var env []string
	daemonPID := 0
	if fi, err := os.Stat(front); err != nil || fi.IsDir() {
		rows = append(rows, benchRow{Name: "CLI start cost through the fairway front", Unit: "skipped", Goal: "<= 2x hello-world",
			Note: "no fairway front beside this engine (" + front + "): build both with `go build -o bin/ ./cmd/...` and run bin/fairway bench"})
	} else {
		// The daemon's socket folder is the bench's own, so it measures the
		// daemon it started: in the work folder, or a short temporary one
		// when a socket's path there would not fit its 107 bytes.
		runtime := filepath.Join(work, "run")
		if len(runtime)+len("/fairway/fairwayd-0123456789abcdef.sock") > 107 {
			if runtime, err = os.MkdirTemp("", "fwb-"); err != nil {
				return nil, err
			}
			defer os.RemoveAll(runtime)
		} else if err := os.Mkdir(runtime, 0o700); err != nil {
			return nil, err
		}
		env = withEnv(os.Environ(), "XDG_RUNTIME_DIR="+runtime, "FAIRWAY_DAEMON_IDLE=10m", "FAIRWAY_DAEMON=require")
		pid, err := startBenchDaemon(front, env, runtime)
		if pid > 0 {
			defer stopBenchDaemon(pid)
		}
		if err != nil {
			return nil, err
		}
		goal := "<= 2x hello-world"
		note := "the fairway front, the command run by a warm fairwayd daemon; "
		for _, c := range []struct {
			name string
			args []string
		}{
			{"fairway help", []string{"help"}},
			{"fairway version", []string{"version"}},
			{"fairway task list", []string{"task", "list", "--dir", dir}},
			{"fairway task show", []string{"task", "show", "START-2", "--dir", dir}},
			{"fairway next", []string{"next", "--dir", dir}},
		} {
			list = append(list, measured{c.name, goal, note, append([]string{front}, c.args...)})
		}
		daemonPID = pid
	}
	list = append(list,
		measured{"fairwayd help, the engine run directly", "information: the cold path", "no daemon, or FAIRWAY_DAEMON=off; ", []string{exe, "help"}},
		measured{"fairwayd task list, the engine run directly", "information: the cold path", "no daemon, or FAIRWAY_DAEMON=off; ", []string{exe, "task", "list", "--dir", dir}},
	)
	cmds := [][]string{{hello}}
	for _, m := range list {
		cmds = append(cmds, m.argv)
	}
	progress("timing %d runs each of %d commands against a hello-world binary", runs, len(list))
	daemonBefore, daemonErr := processCPU(daemonPID)
	costs, err := bench.ProcessCosts(runs, cmds, env)
	if err != nil {
		return nil, err
	}
	base := costs[0]
	for i, m := range list {
		if i == len(list)-2 && daemonPID > 0 && daemonErr == nil {
			// What the daemon spent on the requests, beside the fronts' own.
			if after, err := processCPU(daemonPID); err == nil {
				perRequest := ms(after-daemonBefore) / float64(runs*(len(list)-2))
				rows = append(rows, benchRow{Name: "fairwayd daemon CPU per request, the five above", Value: perRequest, Unit: "ms mean", Baseline: ms(base.CPU), Ratio: perRequest / ms(base.CPU),
					Goal: "information", Note: "the daemon's user+system time over the front's requests, divided by their number: the front's CPU rows count the front's process only"})
			}
		}
		c := costs[i+1]
		rows = append(rows,
			benchRow{Name: m.name + ", whole process (wall)", Value: ms(c.Wall), Unit: "ms median", Baseline: ms(base.Wall), Ratio: ms(c.Wall) / ms(base.Wall),
				Goal: m.goal, Note: m.note + "baseline: a Go hello-world binary built in this run, runs interleaved"},
			benchRow{Name: m.name + ", whole process (CPU)", Value: ms(c.CPU), Unit: "ms median", Baseline: ms(base.CPU), Ratio: ms(c.CPU) / ms(base.CPU),
				Goal: m.goal, Note: m.note + "user+system time of the process; baseline: the hello-world's"})
	}
	return rows, nil
}

// withEnv is env with each NAME=VALUE of set in place of NAME's entries
// (a process reads the first of a name).
func withEnv(env []string, set ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		replaced := false
		for _, s := range set {
			if strings.HasPrefix(s, name+"=") {
				replaced = true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return append(out, set...)
}

// startBenchDaemon has the front start its daemon (a first command
// misses and starts it) and waits until it answers; it returns the
// daemon's pid.
func startBenchDaemon(front string, env []string, runtime string) (int, error) {
	miss := exec.Command(front, "version")
	miss.Env = withEnv(env, "FAIRWAY_DAEMON=")
	if out, err := miss.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("fairway version: %v: %s", err, out)
	}
	var last []byte
	for range 400 {
		hit := exec.Command(front, "version")
		hit.Env = env
		out, err := hit.CombinedOutput()
		if err == nil {
			sockets, _ := filepath.Glob(filepath.Join(runtime, "fairway", "*.sock"))
			if len(sockets) != 1 {
				return 0, fmt.Errorf("the bench's socket folder holds %d sockets, want 1", len(sockets))
			}
			return socketPeerPID(sockets[0])
		}
		last = out
		time.Sleep(25 * time.Millisecond)
	}
	return 0, fmt.Errorf("the fairwayd daemon did not answer within 10 s: %s", last)
}

// socketPeerPID is the pid of the process serving a unix socket.
func socketPeerPID(socket string) (int, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer syscall.Close(fd)
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: socket}); err != nil {
		return 0, err
	}
	cred, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil {
		return 0, err
	}
	return int(cred.Pid), nil
}

// stopBenchDaemon ends the daemon the bench started and waits for it.
func stopBenchDaemon(pid int) {
	syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 200 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(25 * time.Millisecond)
	}
}

// processCPU is a process's user and system time so far (Linux).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) in
	// parentheses: utime and stime are the 12th and 13th.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
