package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"fairway"
	"fairway/bench"
	"fairway/sqlite"
	"fairway/storeurl"
)

func init() {
	register(&command{
		name: "bench", summary: "Measure write throughput, next and its fallback plan on a large graph, the check harness, and CLI process cost", args: "[--quick] [--portal] [--baseline BINARY] [--only plan,sessions,suite,writes] [--tlog [--tlog-events N]] [--postgres URL]",
		example: `fairway bench
fairway bench --quick --json
fairway bench --quick --baseline ./fairway-before   # the same bench of another build, side by side
fairway bench --only writes           # durable API writes against no-op requests through the same server: rate and CPU per write
fairway bench --tlog                  # only the audit log's Merkle tree: append cost, proofs at 10 million events, checkpoint verify
fairway bench --postgres 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'   # also 1, 2 and 3 replicas on PostgreSQL
fairway bench --s3-only --s3 's3://evidence/bench?endpoint=127.0.0.1:8333&secure=false'   # credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
fairway bench --portal          # the portal's pages at 100,000 tasks and a static build of 10,000`,
		setup: func(fs *flag.FlagSet) runFunc {
			var o benchOptions
			fs.BoolVar(&o.quick, "quick", false, "smaller runs, for a fast look")
			fs.BoolVar(&o.portal, "portal", false, "measure the portal only: page render time against the JSON API, and a static build")
			fs.StringVar(&o.workdir, "workdir", "", "folder for the benchmark stores (default: a temporary folder, removed after)")
			o.ingestMiB = optInt(fs, "ingest-mib", 1024, "size of the evidence ingest measurement, in MiB")
			fs.StringVar(&o.postgres, "postgres", "", "also measure PostgreSQL at this `URL`: writes through 1, 2 and 3 replicas, and next; each run uses a schema of its own, dropped after")
			fs.StringVar(&o.baseline, "baseline", "", "also run this other fairway binary's bench, before and after this one, and show its better figures beside these")
			fs.StringVar(&o.ingestChild, "ingest-child", "", "internal: ingest into this folder and exit (used to measure peak memory)")
			fs.BoolVar(&o.tlog, "tlog", false, "measure only the transparency log: durable appends with and without the Merkle tree, proof size and time in a large tree, checkpoint verification")
			o.tlogEvents = optInt(fs, "tlog-events", 10_000_000, "with --tlog: events in the in-memory tree the proofs are measured in (default 10 million; 1 million with --quick)")
			fs.StringVar(&o.only, "only", "", "run only these measurements, comma-separated: plan (next's fallback plan), start (the CLI's start cost: the front through a warm daemon and the engine directly, against a hello-world), sessions (heartbeats and their CPU, reconcile), suite (the check harness), writes (durable API writes against no-op requests, rate and CPU, and ledger writes' CPU; five rounds)")
			fs.StringVar(&o.s3, "s3", "", "also time one evidence upload of --ingest-mib to this bucket `URL` (s3://BUCKET/PREFIX?endpoint=HOST:PORT) against minio-go's own PutObject")
			fs.BoolVar(&o.s3Only, "s3-only", false, "run only the --s3 measurement")
			o.s3Runs = optInt(fs, "s3-runs", 3, "how many times each --s3 upload runs (medians are reported)")
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
	// Before and BeforeRatio are the same row from --baseline's binary.
	Before      *float64 `json:"before,omitempty"`
	BeforeRatio *float64 `json:"before_ratio,omitempty"`
}

// benchOptions are the flags of `fairway bench`.
type benchOptions struct {
	quick       bool
	portal      bool
	workdir     string
	ingestMiB   *optional[int]
	ingestChild string
	tlog        bool
	tlogEvents  *optional[int]
	postgres    string
	only        string
	baseline    string
	s3          string
	s3Only      bool
	s3Runs      *optional[int]
}

func runBench(a *app, pos []string, o benchOptions) error {
	if err := wantArgs(pos, 0, "no arguments"); err != nil {
		return err
	}
	ingestMiB := int64(o.ingestMiB.value())
	if dir := o.ingestChild; dir != "" {
		if err := benchIngestChild(a, dir, ingestMiB<<20); err != nil {
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
	if o.baseline != "" {
		// Fail before the long run, not after it.
		if _, err := exec.LookPath(o.baseline); err != nil {
			return fairway.FieldError("baseline", "%s is not a program this can run: %v", o.baseline, err)
		}
	}
	progress := func(format string, args ...any) {
		fmt.Fprintf(a.stderr, "bench: "+format+"\n", args...)
	}
	// The other build runs before and after this one, and keeps the
	// better of its two figures: a busy moment does not count against
	// it.
	var before [2][]benchRow
	if o.baseline != "" {
		var err error
		if before[0], err = benchBefore(a, o, ingestMiB, progress); err != nil {
			return err
		}
	}
	ctx := a.ctx
	var rows []benchRow
	if o.portal {
		rows, err := benchPortal(a, work, quick, progress)
		if err != nil {
			return err
		}
		return printBench(a, rows, "")
	}
	if o.s3Runs.value() < 1 {
		return usagef("--s3-runs must be at least 1")
	}
	if o.s3Only {
		if o.s3 == "" {
			return usagef("--s3-only needs --s3 s3://BUCKET/PREFIX?endpoint=HOST:PORT")
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		if rows, err = benchS3(a, exe, work, o.s3, ingestMiB, o.s3Runs.value(), progress); err != nil {
			return err
		}
		return printBench(a, rows, "")
	}
	if o.only != "" {
		return benchOnly(a, progress, o, work)
	}
	if o.tlog {
		events := int64(o.tlogEvents.value())
		if quick && !o.tlogEvents.set {
			events = 1_000_000
		}
		if events < 2 {
			return fairway.FieldError("tlog-events", "must be at least 2")
		}
		if rows, err := tlogBench(a, work, quick, events, progress); err != nil {
			return err
		} else {
			return printBench(a, rows, "")
		}
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
	startRows, err := benchStartCost(exe, work, runs, progress)
	if err != nil {
		return err
	}
	rows = append(rows, startRows...)

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

	tasks, edges := 100000, 300000
	if quick {
		tasks, edges = 20000, 60000
	}
	if o.postgres != "" {
		pgRows, err := benchPostgres(a, o.postgres, grouped, total, tasks, edges, progress)
		if err != nil {
			return fmt.Errorf("PostgreSQL: %w", err)
		}
		rows = append(rows, pgRows...)
	}

	// 3. next over a large graph.
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

	// 3b, 3c: the fallback plan and the check harness.
	planRow, err := benchPlan(a, progress, exe, work, tasks, edges, runs, start)
	if err != nil {
		return err
	}
	suiteRows, err := benchSuite(a, progress, quick)
	if err != nil {
		return err
	}
	rows = append(append(rows, planRow), suiteRows...)

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

	// 7. Sessions: heartbeats through a `fairway serve` child process, the
	// CPU that live sessions heartbeating every 10 s cost it, and restart
	// reconciliation.
	sessionRows, err := benchSessions(ctx, progress, exe, work, quick)
	if err != nil {
		return err
	}
	rows = append(rows, sessionRows...)

	// 7. A claim recorded through an MCP tool call, against the same
	// claim through a whole CLI process, and against the same ledger call
	// in one process.
	progress("timing claims through fairway mcp and through the CLI")
	mcpRows, err := benchMCP(ctx, exe, runDir, runs)
	if err != nil {
		return fmt.Errorf("mcp: %w", err)
	}
	rows = append(rows, mcpRows...)

	if o.s3 != "" {
		s3rows, err := benchS3(a, exe, work, o.s3, ingestMiB, o.s3Runs.value(), progress)
		if err != nil {
			return err
		}
		rows = append(rows, s3rows...)
	}
	if o.baseline != "" {
		var err error
		if before[1], err = benchBefore(a, o, ingestMiB, progress); err != nil {
			return err
		}
		setBefore(rows, before[0], before[1])
	}
	return printBench(a, rows, o.baseline)
}

// printBench writes the table; with a baseline build, its figures beside.
func printBench(a *app, rows []benchRow, baseline string) error {
	return a.output(rows, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		if baseline == "" {
			fmt.Fprintln(tw, "BENCHMARK\tRESULT\tBASELINE\tRATIO\tGOAL")
		} else {
			fmt.Fprintln(tw, "BENCHMARK\tRESULT\tBASELINE\tRATIO\tBEFORE\tBEFORE RATIO\tGOAL")
		}
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%.2f %s\t%.2f\t%.2fx", r.Name, r.Value, r.Unit, r.Baseline, r.Ratio)
			if baseline != "" {
				before, ratio := "-", "-"
				if r.Before != nil {
					before = fmt.Sprintf("%.2f", *r.Before)
				}
				if r.BeforeRatio != nil {
					ratio = fmt.Sprintf("%.2fx", *r.BeforeRatio)
				}
				fmt.Fprintf(tw, "\t%s\t%s", before, ratio)
			}
			fmt.Fprintf(tw, "\t%s\n", r.Goal)
		}
		tw.Flush()
		if baseline != "" {
			fmt.Fprintf(w, "  BEFORE is %s's bench, run before and after this one on the same machine, the better of its two figures; - where it has no such row\n", baseline)
		}
		for _, r := range rows {
			fmt.Fprintf(w, "  %s — %s\n", r.Name, r.Note)
		}
	})
}

// benchPostgres measures durable API writes from 32 clients through 1, 2
// and 3 replicas on one PostgreSQL, against SQLite on one node measured
// in the same run (sqliteRate), and next over a graph of tasks tasks.
func benchPostgres(a *app, url string, sqliteRate float64, total, tasks, edges int, progress func(string, ...any)) ([]benchRow, error) {
	loc, err := storeurl.Parse(url)
	if err != nil || loc.Kind != storeurl.Postgres {
		return nil, fairway.FieldError("postgres", "%q is not a PostgreSQL URL; write it as postgres://USER@HOST:PORT/DB", url)
	}
	var rows []benchRow
	for replicas := 1; replicas <= 3; replicas++ {
		progress("%d API writes from 32 clients through %d replica(s) on PostgreSQL", total, replicas)
		rate, err := bench.PostgresAPIWrites(a.ctx, url, replicas, 32, total)
		if err != nil {
			return nil, err
		}
		rows = append(rows, benchRow{Name: fmt.Sprintf("durable API writes, 32 clients, %d PostgreSQL replica(s)", replicas), Value: rate, Unit: "writes/s",
			Baseline: sqliteRate, Ratio: rate / sqliteRate, Goal: "(compare)",
			Note: "baseline: the same writes to SQLite on one node, this run; replicas are servers with their own pool and group commit in this process, clients spread round robin"})
	}
	progress("building a graph of %d tasks and %d dependency edges on PostgreSQL", tasks, edges)
	l, closeGraph, err := bench.PostgresGraph(a.ctx, url, tasks, edges)
	if err != nil {
		return nil, err
	}
	defer closeGraph()
	progress("timing next on PostgreSQL")
	next, err := bench.Time(50, func() error { _, err := l.Next(a.ctx, fairway.NextFilter{}); return err })
	if err != nil {
		return nil, err
	}
	get, err := bench.Time(50, func() error {
		_, err := l.GetTask(a.ctx, "G-050000")
		if fairway.ErrorCode(err) == fairway.ENOTFOUND {
			err = nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	rows = append(rows, benchRow{Name: fmt.Sprintf("next over %dk tasks, %dk edges, PostgreSQL", tasks/1000, edges/1000), Value: ms(next), Unit: "ms median",
		Baseline: ms(get), Ratio: ms(next) / ms(get), Goal: "< 50 ms", Note: "baseline: reading one task by key on PostgreSQL"})
	return rows, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// tlogBench measures what the audit log's Merkle tree costs and what its
// proofs weigh.
func tlogBench(a *app, work string, quick bool, events int64, progress func(string, ...any)) ([]benchRow, error) {
	ctx := a.ctx
	var rows []benchRow
	total, rounds, single := 60000, 40, 1200
	if quick {
		total, rounds, single = 20000, 20, 400
	}
	wtotal, wrounds := 40000, 20
	if quick {
		wtotal, wrounds = 10000, 10
	}
	progress("%d durable ledger writes (task creations) from 32 writers, with and without the tree, in %d alternating rounds", wtotal, wrounds)
	lw, err := bench.TreeWrites(ctx, work, sqlite.Options{}, 32, wtotal, wrounds)
	if err != nil {
		return nil, err
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
	rows = append(rows,
		benchRow{Name: "durable ledger writes, 32 writers, with the tree", Value: lw.Tree, Unit: "writes/s", Baseline: lw.Plain, Ratio: lw.RateRatio,
			Goal: ">= 0.95x baseline", Note: "the goal's figure: whole durable writes (a task, its search text, its audit event; group commit, fsynced) through the ledger; baseline: the same writes by a ledger measured without the tree (SkipTree); alternating rounds in one run, figures and ratio (of each round's pair) are medians"},
		benchRow{Name: "CPU per durable ledger write, with the tree", Value: us(lw.TreeCPU), Unit: "µs median", Baseline: us(lw.PlainCPU), Ratio: lw.CPURatio,
			Goal: "(shows the cost)", Note: "this process's user+system time per write in the rounds above; baseline: without the tree; ratio: median of each round's pair"})
	progress("%d durable audit appends from 32 writers with group commit, with and without the tree, in %d alternating rounds", total, rounds)
	g, err := bench.TreeAppends(ctx, work, sqlite.Options{}, 32, total, rounds)
	if err != nil {
		return nil, err
	}
	rows = append(rows,
		benchRow{Name: "durable audit appends, 32 writers, with the tree", Value: g.Tree, Unit: "appends/s", Baseline: g.Plain, Ratio: g.RateRatio,
			Goal: ">= 0.95x baseline", Note: "baseline: the same appends without the Merkle tree (group commit, fsynced); alternating rounds in one run, figures and ratio (of each round's pair) are medians; an audit append alone, so the tree's share of a whole ledger write (row, search text, event) is smaller"},
		benchRow{Name: "CPU per durable audit append, with the tree", Value: us(g.TreeCPU), Unit: "µs median", Baseline: us(g.PlainCPU), Ratio: g.CPURatio,
			Goal: "<= 1.05x baseline", Note: "this process's user+system time per append in the rounds above; baseline: without the tree; ratio: median of each round's pair"})
	progress("%d durable audit appends, one fsync each, with and without the tree", single)
	s, err := bench.TreeAppends(ctx, work, sqlite.Options{MaxBatch: 1}, 1, single, 8)
	if err != nil {
		return nil, err
	}
	rows = append(rows, benchRow{Name: "durable audit appends, one fsync each, with the tree", Value: s.Tree, Unit: "appends/s", Baseline: s.Plain, Ratio: s.RateRatio,
		Goal: ">= 0.95x baseline", Note: "baseline: the same appends without the Merkle tree, one commit and fsync each; ratio: median of each round's pair"})

	progress("building a tree of %d events in memory", events)
	f, err := bench.Tree(events, 2000)
	if err != nil {
		return nil, err
	}
	m := fmt.Sprintf("%.0fM", float64(events)/1e6)
	if events < 1e6 {
		m = strconv.FormatInt(events, 10)
	}
	rows = append(rows,
		benchRow{Name: "tree of " + m + " events, built in memory", Value: f.Build.Seconds(), Unit: "s", Goal: "(fixture)", Note: "synthetic leaves appended through the same compact range the ledger uses"},
		benchRow{Name: "inclusion proof at " + m + " events, size", Value: float64(f.InclusionHashes), Unit: "hashes", Baseline: float64(f.InclusionJSON), Goal: "O(log n)",
			Note: fmt.Sprintf("largest of 2000 random leaves; baseline column: its JSON size in bytes (event aside), %d bytes of raw hashes", 32*f.InclusionHashes)},
		benchRow{Name: "inclusion proof at " + m + " events, verify", Value: us(f.InclusionVerify), Unit: "µs median", Baseline: us(f.InclusionBuild), Ratio: us(f.InclusionVerify) / us(f.InclusionBuild),
			Goal: "< 100 µs", Note: "baseline: building it from in-memory nodes"},
		benchRow{Name: "consistency proof at " + m + " events, size", Value: float64(f.ConsistencyHashes), Unit: "hashes", Baseline: float64(f.ConsistencyJSON), Goal: "O(log n)",
			Note: "largest of 2000 random older sizes; baseline column: its JSON size in bytes"},
		benchRow{Name: "consistency proof at " + m + " events, verify", Value: us(f.ConsistencyVerify), Unit: "µs median", Baseline: us(f.ConsistencyBuild), Ratio: us(f.ConsistencyVerify) / us(f.ConsistencyBuild),
			Goal: "< 100 µs", Note: "baseline: building it from in-memory nodes"},
		benchRow{Name: "checkpoint signature verify", Value: us(f.CheckpointOpen), Unit: "µs median", Goal: "< 1000 µs", Note: "tlog.Open: parse and verify one Ed25519 signed note"},
		benchRow{Name: "checkpoint verify + inclusion proof at " + m, Value: us(f.CheckpointOpenAndProve), Unit: "µs median", Baseline: us(f.CheckpointOpen), Ratio: us(f.CheckpointOpenAndProve) / us(f.CheckpointOpen),
			Goal: "< 1000 µs", Note: "what fairway-verify proof does after reading its files; baseline: the signature alone"})
	n := 200000
	if quick {
		n = 50000
	}
	progress("verifying an exported log of %d events offline", n)
	rate, err := bench.LogVerify(n)
	if err != nil {
		return nil, err
	}
	rows = append(rows, benchRow{Name: fmt.Sprintf("offline log verify, %dk events", n/1000), Value: rate, Unit: "events/s", Goal: "(shows the cost)",
		Note: "JSON lines decoded, hash chain, every leaf and the root against a checkpoint (fairway-verify log)"})
	return rows, nil
}

// benchMCP times a claim through `fairway mcp` on stdio (the server
// started once, as an agent keeps it, each call one tool round trip)
// against the same claim as a whole `fairway claim` process, and the MCP
// round trip against the ledger call it makes.
func benchMCP(ctx context.Context, exe, dir string, runs int) ([]benchRow, error) {
	cliClaim, err := bench.Time(runs, func() error {
		return exec.Command(exe, "claim", "--task", "RUN-1", "bench claim", "--as", "alice", "--dir", dir).Run()
	})
	if err != nil {
		return nil, fmt.Errorf("fairway claim: %w", err)
	}
	tr := &sdk.CommandTransport{Command: exec.Command(exe, "mcp", "--as", "alice", "--dir", dir)}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "fairway-bench", Version: "1"}, nil).Connect(ctx, tr, nil)
	if err != nil {
		return nil, err
	}
	defer cs.Close()
	call := func() error {
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "claim", Arguments: map[string]any{"task": "RUN-1", "text": "bench claim"}})
		if err == nil && res.IsError {
			err = fmt.Errorf("claim tool: %v", res.Content)
		}
		return err
	}
	if err := call(); err != nil { // warm: the first call opens the store
		return nil, err
	}
	mcpClaim, err := bench.Time(runs*5, call)
	if err != nil {
		return nil, err
	}
	inProc, err := bench.MCPOverhead(ctx, filepath.Join(filepath.Dir(dir), "mcp"), runs*5)
	if err != nil {
		return nil, err
	}
	return []benchRow{
		{Name: "claim via an MCP tool call (stdio)", Value: ms(mcpClaim), Unit: "ms median", Baseline: ms(cliClaim), Ratio: ms(mcpClaim) / ms(cliClaim),
			Goal: "<= 1x baseline", Note: "baseline: the same claim as a whole fairway claim process; the MCP server runs once per agent session"},
		{Name: "MCP tool call overhead, in process", Value: inProc.MCP, Unit: "µs median", Baseline: inProc.Direct, Ratio: inProc.MCP / inProc.Direct,
			Goal: "(shows the protocol's cost)", Note: "baseline: the same claim as a ledger call; the MCP call goes through the SDK's in-memory transport"},
	}, nil
}

// benchPlan times `fairway next --lane` on a lane that waits, so that it
// falls back to planning, as a whole process over a large ledger.
func benchPlan(a *app, progress func(string, ...any), exe, work string, tasks, edges, runs int, start time.Duration) (benchRow, error) {
	ctx := a.ctx
	// 3b. next when the asked-for lane waits: the planner's fallback over
	// a large ledger of many lanes.
	lanes := 200
	progress("building %d tasks in %d lanes with %d edges, one lane waiting", tasks, lanes, edges)
	ll, ls, las, _, err := bench.OpenLedger(ctx, filepath.Join(work, "lanes"), sqlite.Options{})
	if err != nil {
		return benchRow{}, err
	}
	if err := bench.LaneGraph(ctx, ll, las, tasks, lanes, edges, 1); err != nil {
		ls.Close()
		return benchRow{}, err
	}
	ls.Close()
	lanesDir := filepath.Join(work, "lanes")
	planOut, err := exec.Command(exe, "next", "--lane", bench.WaitingLane, "--json", "--dir", lanesDir).Output()
	if err != nil {
		return benchRow{}, fmt.Errorf("next --lane %s: %w", bench.WaitingLane, err)
	}
	var plan fairway.Plan
	if err := json.Unmarshal(planOut, &plan); err != nil || len(plan.Waiting) != 1 || len(plan.Safe) == 0 {
		return benchRow{}, fmt.Errorf("next --lane %s did not fall back to a plan with safe work: %v %.200s", bench.WaitingLane, err, planOut)
	}
	progress("timing next --lane %s (fallback planning)", bench.WaitingLane)
	planProc, err := bench.Time(runs, func() error {
		return exec.Command(exe, "next", "--lane", bench.WaitingLane, "--dir", lanesDir).Run()
	})
	if err != nil {
		return benchRow{}, fmt.Errorf("next process: %w", err)
	}
	return benchRow{Name: fmt.Sprintf("next --lane (waits) with fallback plan, whole process, %dk tasks, %d lanes", tasks/1000, lanes), Value: ms(planProc), Unit: "ms median",
		Baseline: ms(start), Ratio: ms(planProc) / ms(start), Goal: "< 50 ms",
		Note: fmt.Sprintf("baseline: process start without a store; the plan offered %d safe items, held %d tasks", len(plan.Safe), plan.Waiting[0].HeldTotal)}, nil

}

// benchSuite times the check harness on a 200-probe suite against the
// same requests made plainly, and compares two runs' digests.
func benchSuite(a *app, progress func(string, ...any), quick bool) ([]benchRow, error) {
	ctx := a.ctx
	// 3c. A 200-check suite of cheap probes: the harness against the same
	// requests made plainly; and two runs' digests.
	progress("timing a 200-check probe suite against a local server")
	suiteRuns := 21
	if quick {
		suiteRuns = 7
	}
	sr, err := bench.SuiteOverhead(ctx, 200, 8, suiteRuns, 0)
	if err != nil {
		return nil, fmt.Errorf("suite: %w", err)
	}
	// The same with probes that take 2 ms each, as a probe of a real
	// service does: the harness's cost per check is the same, the share
	// smaller.
	slow, err := bench.SuiteOverhead(ctx, 200, 8, suiteRuns, 2*time.Millisecond)
	if err != nil {
		return nil, fmt.Errorf("suite: %w", err)
	}
	rows := []benchRow{{Name: "check suite of 200 HTTP probes, harness overhead", Value: 100 * (sr.Harness.Seconds()/sr.Baseline.Seconds() - 1), Unit: "% over the probes",
		Baseline: ms(sr.Baseline), Ratio: sr.Harness.Seconds() / sr.Baseline.Seconds(), Goal: "< 10%",
		Note: fmt.Sprintf("harness %.2f ms median (parallel 8: masks, digests, JUnit); baseline: the same 200 requests made by a plain loop, 8 at once, %.2f ms; recording evidence in the ledger is not included", ms(sr.Harness), ms(sr.Baseline))}}
	rows = append(rows, benchRow{Name: "check suite of 200 HTTP probes of 2 ms, harness overhead", Value: 100 * (slow.Harness.Seconds()/slow.Baseline.Seconds() - 1), Unit: "% over the probes",
		Baseline: ms(slow.Baseline), Ratio: slow.Harness.Seconds() / slow.Baseline.Seconds(), Goal: "< 10%",
		Note: fmt.Sprintf("as above, the server answering after 2 ms: harness %.2f ms, baseline %.2f ms", ms(slow.Harness), ms(slow.Baseline))})
	report := "identical"
	if !sr.Report {
		report = "DIFFERENT"
	}
	rows = append(rows, benchRow{Name: "check suite, two runs, identical digests", Value: float64(sr.Identical), Unit: fmt.Sprintf("of %d", sr.Checks), Goal: "all",
		Note: "JUnit reports of the two runs: " + report + "; the server's answers carry fresh times, request ids and durations, which the suite's masks normalise"})
	return rows, nil

}

// benchOnly runs the measurements --only names.
func benchOnly(a *app, progress func(string, ...any), o benchOptions, work string) error {
	var rows []benchRow
	for _, name := range strings.Split(o.only, ",") {
		switch strings.TrimSpace(name) {
		case "plan":
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			runs, tasks, edges := 40, 100000, 300000
			if o.quick {
				runs, tasks, edges = 10, 20000, 60000
			}
			start, err := bench.Time(runs, func() error { return exec.Command(exe, "help", "serve").Run() })
			if err != nil {
				return err
			}
			row, err := benchPlan(a, progress, exe, work, tasks, edges, runs, start)
			if err != nil {
				return err
			}
			rows = append(rows, row)
		case "sessions":
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			r, err := benchSessions(a.ctx, progress, exe, work, o.quick)
			if err != nil {
				return err
			}
			rows = append(rows, r...)
		case "writes":
			r, err := benchWrites(a, progress, work, o.quick)
			if err != nil {
				return err
			}
			rows = append(rows, r...)
		case "start":
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			runs := 40
			if o.quick {
				runs = 10
			}
			r, err := benchStartCost(exe, work, runs, progress)
			if err != nil {
				return err
			}
			rows = append(rows, r...)
		case "suite":
			r, err := benchSuite(a, progress, o.quick)
			if err != nil {
				return err
			}
			rows = append(rows, r...)
		default:
			return fairway.FieldError("only", "%q is not a measurement --only can run: use plan, sessions, suite or writes", name)
		}
	}
	return printBench(a, rows, "")
}

// benchWrites measures durable API writes from 32 clients against
// authenticated no-op requests through the same kind of server, in
// rounds that alternate the two, so a busy moment on a shared machine
// falls on both; it reports the median of each figure, the rate and the
// process's CPU time per 20,000 requests.
func benchWrites(a *app, progress func(string, ...any), work string, quick bool) ([]benchRow, error) {
	const rounds = 5
	total := 20000
	if quick {
		total = 4000
	}
	var writes, noops, ledgerWrites []bench.Run
	for round := range rounds {
		progress("round %d of %d: %d API writes, %d no-op requests, from 32 clients; %d ledger writes from 32 goroutines", round+1, rounds, total, total, total)
		w, err := bench.APIWritesRun(a.ctx, filepath.Join(work, fmt.Sprintf("writes-%d", round)), sqlite.Options{}, 32, total)
		if err != nil {
			return nil, fmt.Errorf("writes: %w", err)
		}
		n, err := bench.APINoopRun(a.ctx, filepath.Join(work, fmt.Sprintf("noop-%d", round)), sqlite.Options{}, 32, total)
		if err != nil {
			return nil, fmt.Errorf("no-op requests: %w", err)
		}
		lw, err := bench.LedgerWritesRun(a.ctx, filepath.Join(work, fmt.Sprintf("ledger-%d", round)), sqlite.Options{}, 32, total)
		if err != nil {
			return nil, fmt.Errorf("ledger writes: %w", err)
		}
		writes, noops, ledgerWrites = append(writes, w), append(noops, n), append(ledgerWrites, lw)
	}
	median := func(runs []bench.Run, f func(bench.Run) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	rate := func(r bench.Run) float64 { return r.PerSecond }
	per20k := func(r bench.Run) float64 { return r.CPU.Seconds() * 20000 / float64(total) }
	w, n := median(writes, rate), median(noops, rate)
	wcpu, ncpu := median(writes, per20k), median(noops, per20k)
	// The ratio is each round's own (its writes against the no-op run
	// right after them), then the median: a busy minute on a shared
	// machine moves both runs of one round, but not the rounds alike.
	ratios := make([]float64, rounds)
	for i := range rounds {
		ratios[i] = writes[i].PerSecond / noops[i].PerSecond
	}
	slices.Sort(ratios)
	ratio := ratios[rounds/2]
	return []benchRow{
		{Name: "durable API writes vs the server's limit", Value: w, Unit: "writes/s", Baseline: n, Ratio: ratio, Goal: ">= 0.5x baseline",
			Note: fmt.Sprintf("%.2fx, the median of %d alternating rounds' own ratios (%.2f–%.2fx); rates are medians; baseline: the same 32 clients making an authenticated no-op request (whoami) through the same kind of server", ratio, rounds, ratios[0], ratios[rounds-1])},
		{Name: "CPU per 20k durable API writes", Value: wcpu, Unit: "s", Baseline: ncpu, Ratio: wcpu / ncpu, Goal: "(lower is better)",
			Note: fmt.Sprintf("%.2fx; the process's user+system time, server and clients both; baseline: the same for 20k no-op requests", wcpu/ncpu)},
		{Name: "ratio the processors allow", Value: ncpu / wcpu, Unit: "x", Goal: "(shows the cost)",
			Note: "no-op CPU over write CPU: the ratio above if every core were busy all the time, in both runs; the rest of the gap is time the one SQLite writer holds the commit while cores idle"},
		{Name: "CPU per 20k durable ledger writes, no HTTP", Value: median(ledgerWrites, per20k), Unit: "s", Goal: "(lower is better)",
			Note: fmt.Sprintf("the same task creations straight through the ledger from 32 goroutines (%.0f writes/s): the store and the ledger alone", median(ledgerWrites, rate))},
	}, nil
}

// benchBefore runs another fairway binary's bench with the same sizes
// and returns its rows.
func benchBefore(a *app, o benchOptions, ingestMiB int64, progress func(string, ...any)) ([]benchRow, error) {
	progress("running the bench of %s", o.baseline)
	args := []string{"bench", "--json", "--ingest-mib", strconv.FormatInt(ingestMiB, 10)}
	if o.quick {
		args = append(args, "--quick")
	}
	if o.workdir != "" {
		args = append(args, "--workdir", filepath.Join(o.workdir, "before"))
	}
	cmd := exec.CommandContext(a.ctx, o.baseline, args...)
	cmd.Stderr = a.stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("bench of %s: %w", o.baseline, err)
	}
	var rows []benchRow
	if err := json.Unmarshal(out, &rows); err != nil {
		return nil, fmt.Errorf("bench of %s printed no rows this reads: %w", o.baseline, err)
	}
	return rows, nil
}

// setBefore sets each row's Before figures from the other build's rows
// of the same name, the better of its two runs: the higher rate, or the
// lower time or memory.
func setBefore(rows []benchRow, runs ...[]benchRow) {
	best := map[string]benchRow{}
	for _, run := range runs {
		for _, r := range run {
			b, seen := best[r.Name]
			higher := strings.HasSuffix(r.Unit, "/s")
			if !seen || higher && r.Value > b.Value || !higher && r.Value < b.Value {
				best[r.Name] = r
			}
		}
	}
	for i := range rows {
		if b, ok := best[rows[i].Name]; ok {
			rows[i].Before, rows[i].BeforeRatio = &b.Value, &b.Ratio
		}
	}
}

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

// benchSessions measures heartbeats through a `fairway serve` child
// process of exe on a store in work, the CPU that live sessions
// heartbeating every 10 s cost it, and restart reconciliation.
func benchSessions(ctx context.Context, progress func(string, ...any), exe, work string, quick bool) ([]benchRow, error) {
	var rows []benchRow
	sessions, beats := 1000, 10000
	if quick {
		sessions, beats = 1000, 2000
	}
	progress("attaching %d live sessions", sessions)
	sfx, err := bench.NewSessionFixture(ctx, filepath.Join(work, "sessions"), sessions)
	if err != nil {
		return nil, fmt.Errorf("session fixture: %w", err)
	}
	srv, err := bench.StartServer(exe, sfx.Dir)
	if err != nil {
		return nil, fmt.Errorf("session server: %w", err)
	}
	// Each heartbeat may wait up to ledger.HeartbeatLinger for others to
	// share its commit, so a closed loop of few clients measures that
	// wait, not the server: as many clients as sessions beat at once.
	const hbClients = 256
	progress("%d heartbeats from %d clients, and as many no-op requests", beats, hbClients)
	hbRate, hbCPU, err := sfx.Heartbeats(ctx, srv, hbClients, beats)
	if err == nil {
		var noopRate float64
		noopRate, _, err = sfx.Noops(ctx, srv, hbClients, beats)
		rows = append(rows, benchRow{Name: fmt.Sprintf("session heartbeats through the server, %d clients", hbClients), Value: hbRate, Unit: "heartbeats/s", Baseline: noopRate, Ratio: hbRate / noopRate,
			Goal: ">= 100/s (1000 sessions every 10 s)", Note: fmt.Sprintf("baseline: authenticated no-op requests (whoami) to the same server; each heartbeat is a durable write; server CPU %.0f µs per heartbeat at saturation", float64(hbCPU.Microseconds())/float64(beats))})
	}
	if err == nil {
		progress("%d sessions heartbeating once each over 10 s", sessions)
		var cpu, wall, noopCPU, noopWall time.Duration
		cpu, wall, err = sfx.PacedHeartbeats(ctx, srv, 10*time.Second)
		if err == nil {
			progress("as many no-op requests over 10 s")
			noopCPU, noopWall, err = sfx.PacedNoops(ctx, srv, 10*time.Second)
		}
		share := 100 * cpu.Seconds() / wall.Seconds()
		noopShare := 100 * noopCPU.Seconds() / noopWall.Seconds()
		rows = append(rows, benchRow{Name: fmt.Sprintf("%d live sessions heartbeating every 10 s", sessions), Value: share, Unit: "% of one core",
			Baseline: noopShare, Ratio: share / noopShare, Goal: "< 5%",
			Note: fmt.Sprintf("server process CPU time (user+system, /proc) over %s of paced heartbeats (%.0f µs each); baseline: the same pace of authenticated no-op requests (whoami)",
				wall.Round(time.Millisecond), float64(cpu.Microseconds())/float64(sessions))})
	}
	srv.Stop()
	if err != nil {
		return nil, fmt.Errorf("session heartbeats: %w", err)
	}
	progress("reconciling %d sessions", sessions)
	alive, dead, n, err := sfx.Reconcile(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	if n != sessions {
		return nil, fmt.Errorf("reconcile interrupted %d of %d sessions", n, sessions)
	}
	rows = append(rows, benchRow{Name: fmt.Sprintf("reconcile %d sessions, all gone", sessions), Value: ms(dead), Unit: "ms", Baseline: ms(alive), Ratio: ms(dead) / ms(alive),
		Goal: "< 10 s", Note: "each interrupted with its reason (one durable write each); baseline: the same sessions all confirmed alive (pid and start time read from /proc, no write)"})

	return rows, nil
}
