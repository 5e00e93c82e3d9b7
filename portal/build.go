package portal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fairway"
)

// BuildOptions says where and from what a static site is built.
type BuildOptions struct {
	// Out is the folder the site is written to; it is created.
	Out string
	// Source is the state of the source tree the site is built from; nil
	// when it is not a git tree.
	Source *fairway.SourceState
	// Task, when set, is the task the build records its own evidence on
	// (a command-result of the build, at Source).
	Task string
	// Argv and Dir describe the build command for its evidence.
	Argv []string
	Dir  string
	// Progress, when set, receives a progress bar.
	Progress io.Writer
}

// BuildReport says what a build wrote and whether the site is current.
type BuildReport struct {
	Pages    int      `json:"pages"`
	Files    int      `json:"evidence_files"`
	Problems []string `json:"problems,omitempty"`
	Badge    Badge    `json:"badge"`
	// Evidence is the record of the build, when one was made.
	Evidence *fairway.Evidence `json:"evidence,omitempty"`
}

// The badge is written after the checks it reports on, so pages are
// rendered with these markers and the markers replaced at the end. They
// are letters and dashes only, which html/template leaves as they are.
const (
	markState  = "FAIRWAY-BADGE-STATE-MARK"
	markReason = "FAIRWAY-BADGE-REASON-MARK"
)

// Build writes the portal's read-only pages as a static site: the
// overview, the lanes board, the audit page, a page per task and the
// evidence bytes they link to. It then runs the site's source checks
// (every link resolves, every evidence file it references matches its
// digest) and says "current" only when they pass and build evidence exists
// for the clean source commit it was built from; otherwise "in-progress",
// with the reason.
func (p *Portal) Build(ctx context.Context, o BuildOptions) (*BuildReport, error) {
	started := p.Now()
	if o.Out == "" {
		return nil, fairway.FieldError("out", "is required: the folder to write the site to")
	}
	tasks, err := p.svc.ListTasks(ctx, fairway.TaskFilter{})
	if err != nil {
		return nil, err
	}
	b := &siteBuild{p: p, ctx: ctx, files: map[string][]byte{}, digests: map[string]string{}}
	commit := ""
	if o.Source != nil {
		commit = o.Source.Commit
	}
	badge := &Badge{State: markState, Reason: markReason, Commit: commit}
	total := len(tasks) + len(staticPages)
	lastPct := -1
	step := func() {
		// Redraw only when the percentage moves: a big ledger has many pages.
		if n := len(b.pages); o.Progress != nil && n*100/total != lastPct {
			lastPct = n * 100 / total
			const width = 30
			fill := n * width / total
			fmt.Fprintf(o.Progress, "\r[%s%s] %d/%d pages", strings.Repeat("#", fill), strings.Repeat(".", width-fill), n, total)
		}
	}
	static := func(title, nav string, depth int) *view {
		return &view{Title: title, Nav: nav, Static: true, Base: strings.Repeat("../", depth), Badge: badge, Now: started.UTC()}
	}
	pages := []struct {
		file, name string
		v          *view
		data       func() (any, error)
	}{
		{"index.html", "overview", static("Shared Platform Governance", "overview", 0), func() (any, error) { return p.overviewData(ctx, true) }},
		{"lanes.html", "lanes", static("Lanes", "lanes", 0), func() (any, error) { return p.lanesData(ctx, taskFilter{}) }},
		{"uat.html", "uat", static("UAT coverage", "uat", 0), func() (any, error) { return p.uatData(ctx) }},
		{"deploys.html", "deploys", static("Deploy-runs", "deploys", 0), func() (any, error) { return p.deploysData(ctx, fairway.DeployFilter{}) }},
		{"audit.html", "audit", static("Audit log", "audit", 0), func() (any, error) { return p.auditData(ctx, 0) }},
	}
	for _, pg := range pages {
		d, err := pg.data()
		if err != nil {
			return nil, err
		}
		if err := b.page(pg.file, pg.name, pg.v, d); err != nil {
			return nil, err
		}
		step()
	}
	// Task pages are read and rendered by a few workers at once: each is
	// one read transaction and one template run, independent of the
	// others. Their files are collected here, in one goroutine.
	type rendered struct {
		file  string
		page  []byte
		parts []partView
		err   error
	}
	keys := make(chan *fairway.Task)
	out := make(chan rendered)
	workers := min(max(runtime.GOMAXPROCS(0), 2), 8)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range keys {
				r := rendered{file: staticPath("/tasks/" + t.Key)}
				d, err := p.taskData(wctx, t.Key, nil, true)
				if err == nil {
					var buf bytes.Buffer
					if err = p.execute(&buf, "task", static(t.Key+" · "+t.Title, "lanes", 1), d); err != nil {
						err = fmt.Errorf("render %s: %w", r.file, err)
					}
					r.page = buf.Bytes()
					for _, e := range d.Evidence {
						r.parts = append(r.parts, e.Parts...)
					}
				}
				r.err = err
				select {
				case out <- r:
				case <-wctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(keys)
		for _, t := range tasks {
			select {
			case keys <- t:
			case <-wctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(out) }()
	var firstErr error
	for r := range out {
		if firstErr != nil {
			continue
		}
		if r.err != nil {
			firstErr = r.err
			cancel()
			continue
		}
		for _, part := range r.parts {
			if err := b.evidence(part); err != nil {
				firstErr = err
				cancel()
				break
			}
		}
		b.files[r.file] = r.page
		b.pages = append(b.pages, r.file)
		step()
	}
	if firstErr != nil {
		return nil, firstErr
	}
	sort.Strings(b.pages)
	if o.Progress != nil {
		fmt.Fprintln(o.Progress)
	}
	css, err := fs.ReadFile(assetFS, "assets/portal.css")
	if err != nil {
		return nil, err
	}
	b.files["assets/portal.css"] = css

	rep := &BuildReport{Pages: len(b.pages), Files: len(b.digests), Problems: b.check()}
	if o.Task != "" {
		if rep.Evidence, err = p.recordBuild(ctx, o, rep, started); err != nil {
			return nil, err
		}
	}
	rep.Badge = p.decideBadge(ctx, o, rep)
	for _, name := range b.pages {
		page := bytes.ReplaceAll(b.files[name], []byte(markState), []byte(rep.Badge.State))
		b.files[name] = bytes.ReplaceAll(page, []byte(markReason), []byte(htmlText(rep.Badge.Reason)))
	}
	return rep, b.write(o.Out)
}

// staticPages are the site's pages besides one per task.
var staticPages = []string{"index.html", "lanes.html", "uat.html", "deploys.html", "audit.html"}

// siteBuild holds a site's files in memory until they are checked.
type siteBuild struct {
	p     *Portal
	ctx   context.Context
	files map[string][]byte
	pages []string
	// digests maps an evidence file to the digest its bytes must have.
	digests map[string]string
}

func (b *siteBuild) page(file, name string, v *view, data any) error {
	var buf bytes.Buffer
	if err := b.p.execute(&buf, name, v, data); err != nil {
		return fmt.Errorf("render %s: %w", file, err)
	}
	b.files[file] = buf.Bytes()
	b.pages = append(b.pages, file)
	return nil
}

// evidence copies one part's bytes into the site, once.
func (b *siteBuild) evidence(part partView) error {
	file := staticPath(part.Href)
	if _, done := b.digests[file]; done {
		return nil
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(part.Href, "/evidence/"), "/")
	rc, err := b.p.svc.OpenEvidence(b.ctx, id, part.Name)
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	b.files[file] = data
	b.digests[file] = part.Digest
	return nil
}

var linkRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:href|src)="([^"]*)"`) }) // compiled on first use

// check is the site's source check: every link and image of every page
// resolves to a file of the site, and every evidence file matches the
// digest its record holds.
func (b *siteBuild) check() []string {
	var problems []string
	for _, name := range b.pages {
		for _, m := range linkRE().FindAllSubmatch(b.files[name], -1) {
			link := htmlUnescape(string(m[1]))
			link, _, _ = strings.Cut(link, "#")
			if link == "" {
				continue
			}
			if strings.Contains(link, ":") || strings.HasPrefix(link, "/") {
				problems = append(problems, fmt.Sprintf("%s links to %s, outside the site", name, link))
				continue
			}
			target := path.Clean(path.Join(path.Dir(name), link))
			if _, ok := b.files[target]; !ok {
				problems = append(problems, fmt.Sprintf("%s links to %s, which the site does not hold", name, link))
			}
		}
	}
	for _, file := range sortedKeys(b.digests) {
		want := b.digests[file]
		sum := sha256.Sum256(b.files[file])
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != want {
			problems = append(problems, fmt.Sprintf("%s does not match its digest %s (got %s)", file, want, got))
		}
	}
	return problems
}

func (b *siteBuild) write(out string) error {
	names := sortedKeys(b.files)
	dirs := map[string]bool{}
	for _, name := range names {
		dir := filepath.Dir(filepath.Join(out, filepath.FromSlash(name)))
		if !dirs[dir] {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			dirs[dir] = true
		}
	}
	// Creating a file waits on the file system more than on a core: a
	// few at once.
	var next atomic.Int64
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(names) {
					errs <- nil
					return
				}
				name := names[i]
				if err := os.WriteFile(filepath.Join(out, filepath.FromSlash(name)), b.files[name], 0o644); err != nil {
					next.Store(int64(len(names)))
					errs <- err
					return
				}
			}
		}()
	}
	var first error
	for range cap(errs) {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// recordBuild records the build as command-result evidence on the task:
// exit 0 when the source checks passed, 1 with the problems otherwise.
func (p *Portal) recordBuild(ctx context.Context, o BuildOptions, rep *BuildReport, started time.Time) (*fairway.Evidence, error) {
	var body strings.Builder
	fmt.Fprintf(&body, "portal build: %d pages, %d evidence files\n", rep.Pages, rep.Files)
	code := 0
	if len(rep.Problems) > 0 {
		code = 1
		fmt.Fprintf(&body, "source checks failed:\n")
		for _, pr := range rep.Problems {
			fmt.Fprintf(&body, "  %s\n", pr)
		}
	} else {
		fmt.Fprintf(&body, "source checks passed: every link resolves, every evidence file matches its digest\n")
	}
	argv := o.Argv
	if len(argv) == 0 {
		argv = []string{"fairway", "portal", "build"}
	}
	return p.svc.AddEvidence(ctx, fairway.EvidenceAdd{Task: o.Task, Kind: fairway.EvidenceCommandResult, Filename: "portal-build.txt", MediaType: "text/plain; charset=utf-8",
		Command: &fairway.Command{Argv: argv, Dir: o.Dir, ExitCode: code, Started: started.UTC(), Ended: p.Now().UTC()}, Source: o.Source},
		fairway.EvidenceParts{Content: strings.NewReader(body.String())})
}

// decideBadge applies the design's rule: current only with passing source
// checks and successful build evidence for the clean commit built from.
func (p *Portal) decideBadge(ctx context.Context, o BuildOptions, rep *BuildReport) Badge {
	b := Badge{State: "in-progress"}
	if o.Source != nil {
		b.Commit = o.Source.Commit
	}
	switch {
	case len(rep.Problems) > 0:
		b.Reason = fmt.Sprintf("%d source check problem(s), first: %s", len(rep.Problems), rep.Problems[0])
	case o.Source == nil || o.Source.Commit == "":
		b.Reason = "not built from a git commit, so no build evidence can name its source"
	case o.Source.Dirty:
		b.Reason = "built from uncommitted changes on top of " + o.Source.Commit
	case !p.hasBuildEvidence(ctx, o.Source.Commit, rep.Evidence):
		b.Reason = "no build evidence for commit " + o.Source.Commit + "; build with --task KEY to record it"
	default:
		b.State, b.Reason = "current", "source checks passed and build evidence exists for commit "+o.Source.Commit
	}
	return b
}

// hasBuildEvidence looks for a successful portal build recorded at commit:
// the one just made, or an earlier build of the same commit.
func (p *Portal) hasBuildEvidence(ctx context.Context, commit string, just *fairway.Evidence) bool {
	good := func(e *fairway.Evidence) bool {
		return e != nil && e.Command != nil && e.Command.ExitCode == 0 && e.Source != nil && e.Source.Commit == commit && !e.Source.Dirty &&
			e.Filename == "portal-build.txt"
	}
	if good(just) {
		return true
	}
	evs, err := p.svc.ListEvidence(ctx, fairway.EvidenceFilter{Kind: fairway.EvidenceCommandResult})
	if err != nil {
		return false
	}
	return slices.ContainsFunc(evs, good)
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

// htmlText escapes text written into a page outside a template.
func htmlText(s string) string { return htmlEscaper.Replace(s) }

var htmlUnescaper = strings.NewReplacer("&amp;", "&", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">")

func htmlUnescape(s string) string { return htmlUnescaper.Replace(s) }
