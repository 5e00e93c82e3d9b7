package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"fairway"
	"fairway/bench"
	"fairway/sqlite"
)

func init() {
	register(&command{
		name: "bench", summary: "Measure write throughput, next on a large graph, and CLI process cost", args: "[--quick] [--portal]",
		example: `fairway bench
fairway bench --quick --json
fairway bench --portal          # the portal's pages at 100,000 tasks and a static build of 10,000`,
		setup: func(fs *flag.FlagSet) runFunc {
			var o benchOptions
			fs.BoolVar(&o.quick, "quick", false, "smaller runs, for a fast look")
			fs.BoolVar(&o.portal, "portal", false, "measure the portal only: page render time against the JSON API, and a static build")
			fs.StringVar(&o.workdir, "workdir", "", "folder for the benchmark stores (default: a temporary folder, removed after)")
			o.ingestMiB = optInt(fs, "ingest-mib", 1024, "size of the evidence ingest measurement, in MiB")
			fs.StringVar(&o.ingestChild, "ingest-child", "", "internal: ingest into this folder and exit (used to measure peak memory)")
			return func(a *app, pos []string) error { return runBench(a, pos, o) }
		},
	})
}

// benchRow is one line of the bench table.
type benchRow struct {
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Baseline float64 `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	Goal     string  `json:"goal"`
	Note     string  `json:"note,omitempty"`
}

// benchOptions are the flags of `fairway bench`.
type benchOptions struct {
	quick       bool
	portal      bool
	workdir     string
	ingestMiB   *optional[int]
	ingestChild string
}

func runBench(a *app, pos []string, o benchOptions) error {
	if err := wantArgs(pos, 0, "no arguments"); err != nil {
		return err
	}
	ingestMiB := int64(o.ingestMiB.value())
	if dir := o.ingestChild; dir != "" {
		if _, err := bench.Ingest(a.ctx, dir, ingestMiB<<20); err != nil {
			return err
		}
		peak, err := bench.PeakRSS()
		if err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, peak)
		return nil
	}
	quick := o.quick
	if quick && !o.ingestMiB.set {
		ingestMiB = 256
	}
	work := o.workdir
	if work == "" {
		dir, err := os.MkdirTemp("", "fairway-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	progress := func(format string, args ...any) {
		fmt.Fprintf(a.stderr, "bench: "+format+"\n", args...)
	}
	ctx := a.ctx
	var rows []benchRow
	if o.portal {
		rows, err := benchPortal(a, work, quick, progress)
		if err != nil {
			return err
		}
		return printBench(a, rows)
	}

	// 1. One whole `fairway task create` process, against `fairway
	// --help`-like process start as the baseline.
	runs := 40
	if quick {
		runs = 10
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	procDir := filepath.Join(work, "process")
	if out, err := exec.Command(exe, "actor", "create", "alice", "--kind", "human", "--dir", procDir).CombinedOutput(); err != nil {
		return fmt.Errorf("bench setup: %v: %s", err, out)
	}
	progress("timing %d task create processes", runs)
	i := 0
	create, err := bench.Time(runs, func() error {
		i++
		return exec.Command(exe, "task", "create", fmt.Sprintf("B-%d", i), "--title", "bench", "--as", "alice", "--dir", procDir).Run()
	})
	if err != nil {
		return fmt.Errorf("task create process: %w", err)
	}
	start, err := bench.Time(runs, func() error { return exec.Command(exe, "help", "serve").Run() })
	if err != nil {
		return err
	}
	rows = append(rows, benchRow{Name: "task create, whole process", Value: ms(create), Unit: "ms median", Baseline: ms(start), Ratio: ms(create) / ms(start),
		Goal: "< 15 ms", Note: "baseline: process start without a store (fairway help serve)"})

	// 2. Durable writes through the API from 32 clients, with group commit
	// and with one fsync per write.
	total, baseTotal := 20000, 2000
	if quick {
		total, baseTotal = 4000, 500
	}
	progress("%d API writes from 32 clients with group commit", total)
	grouped, err := bench.APIWrites(ctx, filepath.Join(work, "grouped"), sqlite.Options{}, 32, total)
	if err != nil {
		return fmt.Errorf("grouped writes: %w", err)
	}
	progress("%d API writes from 32 clients, one fsync each", baseTotal)
	single, err := bench.APIWrites(ctx, filepath.Join(work, "single"), sqlite.Options{MaxBatch: 1}, 32, baseTotal)
	if err != nil {
		return fmt.Errorf("single writes: %w", err)
	}
	rows = append(rows, benchRow{Name: "durable API writes, 32 clients", Value: grouped, Unit: "writes/s", Baseline: single, Ratio: grouped / single,
		Goal: ">= 5000/s and >= 10x baseline", Note: "baseline: same writes, one commit and fsync each"})
	progress("%d authenticated no-op API requests from 32 clients", total)
	noop, err := bench.APINoop(ctx, filepath.Join(work, "noop"), sqlite.Options{}, 32, total)
	if err != nil {
		return fmt.Errorf("no-op requests: %w", err)
	}
	rows = append(rows, benchRow{Name: "durable API writes vs the server's limit", Value: grouped, Unit: "writes/s", Baseline: noop, Ratio: grouped / noop,
		Goal: ">= 0.5x baseline", Note: "baseline: the same 32 clients making an authenticated no-op request (whoami) through the same server"})

	progress("%d ledger writes from 32 goroutines, without HTTP, grouped and one fsync each", total)
	lgrouped, err := bench.LedgerWrites(ctx, filepath.Join(work, "lgrouped"), sqlite.Options{}, 32, total)
	if err != nil {
		return fmt.Errorf("grouped ledger writes: %w", err)
	}
	lsingle, err := bench.LedgerWrites(ctx, filepath.Join(work, "lsingle"), sqlite.Options{MaxBatch: 1}, 32, baseTotal)
	if err != nil {
		return fmt.Errorf("single ledger writes: %w", err)
	}
	rows = append(rows, benchRow{Name: "durable ledger writes, 32 writers", Value: lgrouped, Unit: "writes/s", Baseline: lsingle, Ratio: lgrouped / lsingle,
		Goal: "(no goal; shows the store alone)", Note: "baseline: same writes, one commit and fsync each; no HTTP"})

	// 3. next over a large graph.
	tasks, edges := 100000, 300000
	if quick {
		tasks, edges = 20000, 60000
	}
	progress("building a graph of %d tasks and %d dependency edges", tasks, edges)
	l, s, _, _, err := bench.OpenLedger(ctx, filepath.Join(work, "graph"), sqlite.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := bench.Graph(ctx, s, tasks, edges, 1); err != nil {
		return err
	}
	progress("timing next")
	next, err := bench.Time(50, func() error {
		_, err := l.Next(ctx, fairway.NextFilter{})
		return err
	})
	if err != nil {
		return err
	}
	get, err := bench.Time(50, func() error {
		_, err := l.GetTask(ctx, "G-050000")
		if fairway.ErrorCode(err) == fairway.ENOTFOUND {
			err = nil
		}
		return err
	})
	if err != nil {
		return err
	}
	nextProc, err := bench.Time(runs, func() error {
		return exec.Command(exe, "next", "--dir", filepath.Join(work, "graph")).Run()
	})
	if err != nil {
		return fmt.Errorf("next process: %w", err)
	}
	rows = append(rows, benchRow{Name: fmt.Sprintf("fairway next, whole process, %dk tasks", tasks/1000), Value: ms(nextProc), Unit: "ms median",
		Baseline: ms(start), Ratio: ms(nextProc) / ms(start), Goal: "< 50 ms", Note: "baseline: process start without a store (fairway help serve)"})
	rows = append(rows, benchRow{Name: fmt.Sprintf("next over %dk tasks, %dk edges", tasks/1000, edges/1000), Value: ms(next), Unit: "ms median",
		Baseline: ms(get), Ratio: ms(next) / ms(get), Goal: "< 50 ms", Note: "baseline: reading one task by key"})

	// 4. Evidence ingest, against hashing the same bytes alone.
	progress("ingesting %d MiB of log as evidence (child process, for peak memory)", ingestMiB)
	ingestStart := time.Now()
	child := exec.Command(exe, "bench", "--ingest-child", filepath.Join(work, "ingest"), "--ingest-mib", strconv.FormatInt(ingestMiB, 10))
	out, err := child.Output()
	if err != nil {
		return fmt.Errorf("ingest: %v: %s", err, out)
	}
	ingestTime := time.Since(ingestStart)
	peakBytes, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		return fmt.Errorf("ingest child said %q", out)
	}
	peak := peakBytes / (1 << 20)
	hashTime, err := bench.Time(1, func() error { return bench.HashOnly(ingestMiB << 20) })
	if err != nil {
		return err
	}
	mibps := func(d time.Duration) float64 { return float64(ingestMiB) / d.Seconds() }
	rows = append(rows, benchRow{Name: fmt.Sprintf("evidence add, %d MiB log", ingestMiB), Value: mibps(ingestTime), Unit: "MiB/s", Baseline: mibps(hashTime),
		Ratio: mibps(ingestTime) / mibps(hashTime), Goal: ">= 0.8x", Note: "baseline: SHA-256 of the same bytes alone; ingest scans, hashes, writes and fsyncs"})
	diskTime, err := bench.Time(1, func() error { return bench.WriteOnly(work, ingestMiB<<20) })
	if err != nil {
		return err
	}
	rows = append(rows, benchRow{Name: fmt.Sprintf("evidence add vs the disk, %d MiB", ingestMiB), Value: mibps(ingestTime), Unit: "MiB/s", Baseline: mibps(diskTime),
		Ratio: mibps(ingestTime) / mibps(diskTime), Goal: "(shows the floor)", Note: "baseline: writing and fsyncing the same bytes to a plain file"})
	rows = append(rows, benchRow{Name: "evidence add, peak memory", Value: peak, Unit: "MiB RSS", Goal: "< 64 MiB", Note: "whole process, including the store"})

	// 5. Gate evaluation on a heavy task, against one durable write.
	progress("building a task with 1000 evidence items, 50 reviews and 20 prerequisites")
	fx, err := bench.NewGateFixture(ctx, filepath.Join(work, "gate"), 1000, 50, 20)
	if err != nil {
		return fmt.Errorf("gate fixture: %w", err)
	}
	defer fx.Store.Close()
	gateTime, err := bench.Time(200, func() error { _, err := fx.Explain(ctx); return err })
	if err != nil {
		return err
	}
	writeTime, err := bench.Time(200, func() error { return fx.Write(ctx) })
	if err != nil {
		return err
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
	rows = append(rows, benchRow{Name: "gate explain, 1000 evidence/50 reviews/20 prereqs", Value: us(gateTime), Unit: "µs median", Baseline: us(writeTime),
		Ratio: us(gateTime) / us(writeTime), Goal: "< 1000 µs", Note: "baseline: one durable write (a claim and its audit event, fsynced)"})

	// 6. fairway run -- true, against running true directly.
	runDir := filepath.Join(work, "process")
	progress("timing fairway run -- true")
	if out, err := exec.Command(exe, "task", "create", "RUN-1", "--title", "run bench", "--as", "alice", "--dir", runDir).CombinedOutput(); err != nil {
		return fmt.Errorf("run setup: %v: %s", err, out)
	}
	wrapped, err := bench.Time(runs, func() error {
		return exec.Command(exe, "run", "--task", "RUN-1", "--as", "alice", "--dir", runDir, "--", "true").Run()
	})
	if err != nil {
		return fmt.Errorf("fairway run: %w", err)
	}
	direct, err := bench.Time(runs, func() error { return exec.Command("true").Run() })
	if err != nil {
		return err
	}
	rows = append(rows, benchRow{Name: "fairway run -- true, overhead", Value: ms(wrapped) - ms(direct), Unit: "ms median", Baseline: ms(direct),
		Ratio: ms(wrapped) / ms(direct), Goal: "< 20 ms", Note: "baseline: running true directly"})

	return printBench(a, rows)
}

func printBench(a *app, rows []benchRow) error {
	return a.output(rows, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "BENCHMARK\tRESULT\tBASELINE\tRATIO\tGOAL")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%.2f %s\t%.2f\t%.1fx\t%s\n", r.Name, r.Value, r.Unit, r.Baseline, r.Ratio, r.Goal)
		}
		tw.Flush()
		for _, r := range rows {
			fmt.Fprintf(w, "  %s — %s\n", r.Name, r.Note)
		}
	})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchPortal times the task page and the overview at 100,000 tasks,
// each against the JSON API requests that return the same data, in the
// same handler and run; and a static build of 10,000 tasks.
func benchPortal(a *app, work string, quick bool, progress func(string, ...any)) ([]benchRow, error) {
	ctx := a.ctx
	tasks, siteTasks, runs := 100000, 10000, 200
	if quick {
		tasks, siteTasks, runs = 20000, 2000, 50
	}
	progress("building a ledger of %d tasks under the demo policy", tasks)
	fx, err := bench.NewPortalFixture(ctx, filepath.Join(work, "portal"), tasks)
	if err != nil {
		return nil, err
	}
	defer fx.Store.Close()
	var rows []benchRow
	p95 := func(paths ...string) (time.Duration, error) {
		return bench.Percentile(runs, 95, func() error {
			for _, path := range paths {
				if err := fx.Get(path); err != nil {
					return err
				}
			}
			return nil
		})
	}
	task := "/tasks/" + fx.Task
	progress("timing the task page and its JSON (%d runs each)", runs)
	page, err := p95(task)
	if err != nil {
		return nil, err
	}
	api, err := p95("/api/v1/tasks/"+fx.Task+"/view", "/api/v1/audit?subject="+fx.Task+"&limit=500", "/api/v1/deploys?task="+fx.Task)
	if err != nil {
		return nil, err
	}
	rows = append(rows, benchRow{Name: fmt.Sprintf("portal task page, %dk tasks", tasks/1000), Value: ms(page), Unit: "ms p95", Baseline: ms(api), Ratio: ms(page) / ms(api),
		Goal: "< 100 ms", Note: "baseline: the JSON API for the same data (task view, its audit events, its deploy-runs), same handler"})

	progress("computing the overview's closeout dependencies once (first view)")
	start := time.Now()
	if err := fx.Get("/"); err != nil {
		return nil, err
	}
	first := time.Since(start)
	progress("timing the overview and its JSON (%d runs each)", runs)
	overview, err := p95("/")
	if err != nil {
		return nil, err
	}
	oapi, err := p95("/api/v1/policy", "/api/v1/lanes", "/api/v1/next?safe=true")
	if err != nil {
		return nil, err
	}
	rows = append(rows, benchRow{Name: fmt.Sprintf("portal overview, %dk tasks", tasks/1000), Value: ms(overview), Unit: "ms p95", Baseline: ms(oapi), Ratio: ms(overview) / ms(oapi),
		Goal: "< 100 ms", Note: "baseline: the JSON API for the same data (policy, lanes, safe next); closeout dependencies as of the current event"})
	rows = append(rows, benchRow{Name: fmt.Sprintf("portal overview, first view, %dk tasks", tasks/1000), Value: ms(first), Unit: "ms once", Baseline: ms(oapi), Ratio: ms(first) / ms(oapi),
		Goal: "(no goal; later views reuse it until the ledger moves, then recompute in the background)", Note: "computes closeout dependencies from every open gate the policy gives a prerequisite"})

	progress("building a ledger of %d tasks for the static site", siteTasks)
	sfx, err := bench.NewPortalFixture(ctx, filepath.Join(work, "site"), siteTasks)
	if err != nil {
		return nil, err
	}
	defer sfx.Store.Close()
	progress("building the static site")
	start, cpu := time.Now(), bench.CPUTime()
	rep, err := sfx.Site(ctx, filepath.Join(work, "site"), a.stderr)
	if err != nil {
		return nil, err
	}
	build, buildCPU := time.Since(start), bench.CPUTime()-cpu
	progress("reading the same data through the JSON API")
	start = time.Now()
	all, err := sfx.Ledger.ListTasks(fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "alice", Kind: fairway.KindHuman}), fairway.TaskFilter{})
	if err != nil {
		return nil, err
	}
	for _, t := range all {
		if err := sfx.Get("/api/v1/tasks/" + t.Key + "/view"); err != nil {
			return nil, err
		}
	}
	read := time.Since(start)
	rows = append(rows, benchRow{Name: fmt.Sprintf("static site build, %dk tasks (%d pages)", siteTasks/1000, rep.Pages), Value: build.Seconds(), Unit: "s", Baseline: read.Seconds(),
		Ratio: build.Seconds() / read.Seconds(), Goal: "< 30 s", Note: fmt.Sprintf("baseline: reading every task's view through the JSON API, same handler; the build used %.1f s of processor time (user+system, all cores): a wall time far above it means the machine was busy", buildCPU.Seconds())})
	return rows, nil
}
