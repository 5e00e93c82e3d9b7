package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"fairway"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/sqlite"
	"fairway/storeurl"
)

// Exit codes. They are part of the interface: scripts and agents branch on
// them.
const (
	exitOK           = 0
	exitFailure      = 1
	exitUsage        = 2 // bad flags, arguments or input values
	exitNotFound     = 3
	exitConflict     = 4
	exitForbidden    = 5
	exitGateFailed   = 6
	exitUnauthorized = 7
)

func exitCode(err error) int {
	var st exitStatus
	if errors.As(err, &st) {
		return st.code
	}
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	switch fairway.ErrorCode(err) {
	case "":
		return exitOK
	case fairway.EINVALID:
		return exitUsage
	case fairway.ENOTFOUND:
		return exitNotFound
	case fairway.ECONFLICT:
		return exitConflict
	case fairway.EFORBIDDEN:
		return exitForbidden
	case fairway.EGATEFAILED:
		return exitGateFailed
	case fairway.EUNAUTHORIZED, fairway.ESTEPUP:
		return exitUnauthorized
	}
	return exitFailure
}

// usageError is a mistake in how the command was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errHelp ends a command that printed its help.
var errHelp = errors.New("help shown")

// app is one invocation of the CLI. Everything it touches is injected so
// tests run it in-process.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// cwd, when set, is the caller's working folder: a daemon serves
	// callers in many folders from its own, so relative paths resolve
	// against this, never the process's working folder.
	cwd string
	// realCwd, in a daemon, is that folder as the kernel knows it, with
	// no symbolic link in it: relative paths are resolved from it, so
	// ".." after a link goes where it goes for a process run there.
	realCwd string
	// now, when set, is the ledger clock for local mode (tests).
	now func() time.Time
	// stores, in a daemon, keeps local stores open between requests.
	stores *storeCache

	// Global options, accepted by every command.
	json   bool
	as     string
	server string
	token  string
	dir    string
	// session is --session: the session a local-mode credential must be
	// of ($FAIRWAY_SESSION otherwise).
	session string
	// store is a store URL (serve --store); $FAIRWAY_STORE otherwise.
	store string
	// blobs is a blob store URL (serve --blobs); $FAIRWAY_BLOBS
	// otherwise, else the blobs folder beside the local store.
	blobs string

	// createsStore lets a command start a new local store (the first
	// actor of a ledger).
	createsStore bool

	svc    fairway.Service
	closer func()
}

// command is one CLI command: a name such as "task create", what it does,
// how to call it, an example, and its flags and body.
type command struct {
	name    string
	summary string
	args    string
	example string
	// setup defines the command's flags on fs, each bound to a fresh typed
	// variable, and returns the body that reads them. Each invocation gets
	// its own variables.
	setup func(fs *flag.FlagSet) runFunc
	// more, when set, prints help computed at run time after the flags
	// (the evidence kinds of the policy in force, say).
	more func(a *app, w io.Writer)
	// hidden keeps an internal command (the daemon) out of the overview
	// and completion.
	hidden bool
}

// runFunc is a command's body: pos holds the positional arguments.
type runFunc func(a *app, pos []string) error

// noFlags is the setup of a command with no flags of its own.
func noFlags(run runFunc) func(*flag.FlagSet) runFunc {
	return func(*flag.FlagSet) runFunc { return run }
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

func (a *app) run(args []string) int {
	err := a.dispatch(args)
	if a.closer != nil {
		a.closer()
	}
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	var st exitStatus
	if errors.As(err, &st) {
		return st.code // run: the command's own code, already reported
	}
	a.printError(err)
	return exitCode(err)
}

func (a *app) printError(err error) {
	var u usageError
	if a.json {
		e := &fairway.Error{Code: fairway.ErrorCode(err), Message: fairway.ErrorMessage(err)}
		if errors.As(err, &u) {
			e = &fairway.Error{Code: "usage", Message: u.msg}
		} else if fe := (*fairway.Error)(nil); errors.As(err, &fe) {
			e = fe
		}
		b, _ := json.Marshal(map[string]any{"error": e})
		fmt.Fprintln(a.stderr, string(b))
		return
	}
	// Errors quote what the user typed: shown, never executed.
	msg := err.Error()
	var fe *fairway.Error
	switch {
	case errors.As(err, &u):
		msg = u.msg
	case errors.As(err, &fe):
		msg = fe.Error()
	}
	fmt.Fprintf(a.stderr, "fairway: %s\n", visible(msg, true))
}

// dispatch finds the longest command name that prefixes args.
func (a *app) dispatch(args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return a.dispatch(append(args[1:], "--help"))
		}
		a.printOverview(a.stdout)
		if len(args) == 0 {
			return usagef("no command given")
		}
		return errHelp
	}
	best := findCommand(args)
	if best == nil {
		// A group name alone ("fairway task") lists its commands.
		var group []*command
		for _, c := range commands {
			if strings.HasPrefix(c.name, args[0]+" ") && !c.hidden {
				group = append(group, c)
			}
		}
		if len(group) > 0 {
			fmt.Fprintf(a.stdout, "Commands of fairway %s:\n\n", args[0])
			for _, c := range group {
				fmt.Fprintf(a.stdout, "  %-22s %s\n", c.name, c.summary)
			}
			fmt.Fprintf(a.stdout, "\nRun 'fairway %s COMMAND --help' for details and an example.\n", args[0])
			if len(args) > 1 && args[1] != "--help" && args[1] != "-h" {
				return usagef("unknown command %q; see the list above", strings.Join(args[:2], " "))
			}
			return errHelp
		}
		return usagef("unknown command %q; run 'fairway help' for the list", args[0])
	}
	rest := args[len(strings.Fields(best.name)):]
	fs, body := a.flagSet(best)
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.printHelp(best, fs)
			return errHelp
		}
		return usagef("%v (see 'fairway %s --help')", err, best.name)
	}
	return body(a, pos)
}

// findCommand returns the command with the longest name that prefixes
// args, or nil.
func findCommand(args []string) *command {
	var best *command
	for _, c := range commands {
		parts := strings.Fields(c.name)
		if len(parts) <= len(args) && strings.Join(args[:len(parts)], " ") == c.name {
			if best == nil || len(parts) > len(strings.Fields(best.name)) {
				best = c
			}
		}
	}
	return best
}

// flagSet defines the command's own flags and the global ones.
func (a *app) flagSet(c *command) (*flag.FlagSet, runFunc) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	body := a.defineFlags(fs, c)
	fs.Usage = func() {}
	return fs, body
}

// defineFlags defines c's flags and the global ones on fs.
func (a *app) defineFlags(fs *flag.FlagSet, c *command) runFunc {
	body := c.setup(fs)
	fs.BoolVar(&a.json, "json", false, "print machine-readable JSON")
	fs.StringVar(&a.as, "as", "", "act as this actor in local mode (default $FAIRWAY_ACTOR)")
	fs.StringVar(&a.server, "server", "", "talk to a Fairway server at this URL (default $FAIRWAY_SERVER)")
	fs.StringVar(&a.token, "token", "", "bearer token for --server (default $FAIRWAY_TOKEN)")
	fs.StringVar(&a.dir, "dir", "", "local store folder (default $FAIRWAY_DIR or .fairway)")
	fs.StringVar(&a.session, "session", "", "act through this session, with its credential in $FAIRWAY_SESSION_TOKEN (default $FAIRWAY_SESSION)")
	return body
}

// parseInterspersed lets flags come before, between or after positional
// arguments; everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos, tail []string
	for i, arg := range args {
		if arg == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return append(pos, tail...), nil
}

func (a *app) printHelp(c *command, fs *flag.FlagSet) {
	w := a.stdout
	fmt.Fprintf(w, "%s\n\nUsage:\n  fairway %s", c.summary, c.name)
	if c.args != "" {
		fmt.Fprintf(w, " %s", c.args)
	}
	fmt.Fprintf(w, "\n\nExample:\n")
	for _, line := range strings.Split(strings.TrimSpace(c.example), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
	fmt.Fprintf(w, "\nFlags:\n")
	// Flags are listed by name, their usage aligned past the longest.
	type row struct{ name, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		if t, ok := f.Value.(interface{ typeName() string }); ok && kind == "value" {
			kind = t.typeName()
		}
		name := flagName(f.Name)
		if kind != "" {
			name += " " + kind
		}
		if !isZeroDefault(f) {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		rows = append(rows, row{name, usage})
		width = max(width, len(name))
	})
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r.name, r.usage)
	}
	if c.more != nil {
		c.more(a, w)
	}
	fmt.Fprintf(w, "\nExit codes: 0 ok, 1 failure, 2 usage or invalid input, 3 not found, 4 conflict, 5 forbidden, 6 gate failed, 7 unauthorized.\n")
}

// flagName is how a flag is written: -o for one letter, --name otherwise.
func flagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func (a *app) printOverview(w io.Writer) {
	fmt.Fprint(w, `fairway — the durable record of governed engineering work.

Usage:
  fairway COMMAND [ARGS] [--json] [--as ACTOR | --server URL --token TOKEN]

Commands:
`)
	// Work first, then proof, then governance, then the rest.
	order := []string{"task", "dep", "next", "gate", "lane", "session", "run", "evidence", "claim", "scope", "review", "waiver", "policy", "actor", "audit", "serve", "demo", "bench"}
	rank := func(c *command) int {
		group, _, _ := strings.Cut(c.name, " ")
		for i, g := range order {
			if g == group {
				return i
			}
		}
		return len(order)
	}
	sorted := slices.Clone(commands)
	slices.SortStableFunc(sorted, func(a, b *command) int { return rank(a) - rank(b) })
	for _, c := range sorted {
		if c.hidden {
			continue
		}
		fmt.Fprintf(w, "  %-22s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Local mode (the default) works on the store in .fairway/ and trusts --as
(or $FAIRWAY_ACTOR) for who is acting: it is for one machine you control.
Server mode (--server URL, or $FAIRWAY_SERVER) authenticates every request
with a bearer token; that is where identity is enforced.

Run 'fairway COMMAND --help' for details and an example.
`)
}

// connect opens the service the command talks to: a server when --server
// or $FAIRWAY_SERVER is set, the local store otherwise.
func (a *app) connect() (fairway.Service, context.Context, error) {
	if a.svc != nil {
		if l, ok := a.svc.(*ledger.Ledger); ok {
			ctx, err := a.sessionContext(l)
			return a.svc, ctx, err
		}
		return a.svc, a.actorContext(), nil
	}
	server := firstNonEmpty(a.server, a.getenv("FAIRWAY_SERVER"))
	if server != "" {
		// A session credential is a bearer token like any other.
		token := firstNonEmpty(a.token, a.getenv("FAIRWAY_TOKEN"), a.getenv("FAIRWAY_SESSION_TOKEN"))
		a.svc = fairwayhttp.NewClient(server, token)
		return a.svc, a.ctx, nil
	}
	if err := a.requireStore(); err != nil {
		return nil, nil, err
	}
	l, err := a.openLedger(sqlite.Options{})
	if err != nil {
		return nil, nil, err
	}
	a.svc = l
	ctx, err := a.sessionContext(l)
	if err != nil {
		return nil, nil, err
	}
	return l, ctx, nil
}

// clock is the time the CLI itself reads (waiver expiry from a duration).
func (a *app) clock() time.Time {
	if a.now != nil {
		return a.now()
	}
	return time.Now()
}

// remote reports whether commands go to a server.
func (a *app) remote() bool { return firstNonEmpty(a.server, a.getenv("FAIRWAY_SERVER")) != "" }

func (a *app) actorContext() context.Context {
	name := firstNonEmpty(a.as, a.getenv("FAIRWAY_ACTOR"))
	if name == "" {
		return a.ctx
	}
	return fairway.NewContextWithActor(a.ctx, &fairway.Actor{Name: name})
}

// storeDir is --dir, or $FAIRWAY_DIR, or the nearest .fairway folder
// holding a store in this folder or one above it (as git finds .git), or
// a new .fairway here.
func (a *app) storeDir() string {
	if d := firstNonEmpty(a.dir, a.getenv("FAIRWAY_DIR")); d != "" {
		return d
	}
	if wd, err := a.workDir(); err == nil {
		for dir := wd; ; {
			candidate := filepath.Join(dir, ".fairway")
			if _, err := os.Stat(filepath.Join(candidate, "fairway.db")); err == nil {
				if rel, err := filepath.Rel(wd, candidate); err == nil {
					return rel
				}
				return candidate
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return ".fairway"
}

func (a *app) storePath() string { return filepath.Join(a.storeDir(), "fairway.db") }

// workDir is the caller's working folder.
func (a *app) workDir() (string, error) {
	if a.cwd != "" {
		return a.cwd, nil
	}
	return os.Getwd()
}

// abs resolves a relative path against the caller's working folder where
// that is not the process's own (a daemon request). Paths stay as the
// user wrote them everywhere else, so messages show what they typed.
func (a *app) abs(path string) string {
	if a.cwd == "" || path == "" || filepath.IsAbs(path) {
		return path
	}
	if a.realCwd != "" {
		return resolveAt(a.realCwd, path)
	}
	return filepath.Join(a.cwd, path)
}

// resolveAt resolves the relative path rel as the kernel does for a
// process whose working folder is dir (absolute, no symbolic links):
// each symbolic link is followed where it stands, so ".." after one
// leaves its target, not the link. From the first name that does not
// exist, the rest is left for the kernel, as the text given.
func resolveAt(dir, rel string) string {
	parts := strings.Split(rel, "/")
	for i, links := 0, 0; i < len(parts); i++ {
		switch parts[i] {
		case "", ".":
			continue
		case "..":
			dir = filepath.Dir(dir)
			continue
		}
		next := filepath.Join(dir, parts[i])
		fi, err := os.Lstat(next)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			if err != nil {
				return strings.TrimSuffix(dir, "/") + "/" + strings.Join(parts[i:], "/")
			}
			dir = next
			continue
		}
		target, err := os.Readlink(next)
		if links++; err != nil || links > 40 {
			return strings.TrimSuffix(dir, "/") + "/" + strings.Join(parts[i:], "/") // the kernel says why
		}
		if filepath.IsAbs(target) {
			dir = "/"
		}
		parts = append(strings.Split(target, "/"), parts[i+1:]...)
		i = -1
	}
	return dir
}

// storeLocation is --store, or $FAIRWAY_STORE, or the local SQLite file.
func (a *app) storeLocation() (storeurl.Location, error) {
	return storeurl.Parse(firstNonEmpty(a.store, a.getenv("FAIRWAY_STORE"), a.storePath()))
}

// blobLocation is --blobs, or $FAIRWAY_BLOBS, or the blobs folder beside
// the local store. S3 credentials may come from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY.
func (a *app) blobLocation() (storeurl.BlobLocation, error) {
	raw := firstNonEmpty(a.blobs, a.getenv("FAIRWAY_BLOBS"))
	if raw == "" {
		return storeurl.BlobLocation{Kind: storeurl.BlobFile, Path: filepath.Join(a.storeDir(), "blobs")}, nil
	}
	return storeurl.ParseBlobs(raw, a.getenv)
}

// requireStore refuses to work on a local store that does not exist,
// unless the command is one that starts a ledger (the first actor): a
// mistyped --dir must not quietly begin a new, empty ledger.
func (a *app) requireStore() error {
	if a.createsStore {
		return nil
	}
	loc, err := a.storeLocation()
	if err != nil || loc.Kind != storeurl.SQLite {
		return err
	}
	if _, err := os.Stat(a.abs(loc.Path)); errors.Is(err, os.ErrNotExist) {
		return fairway.Errorf(fairway.ENOTFOUND, "no Fairway store at %s (from --dir, $FAIRWAY_DIR, or the nearest .fairway folder); "+
			"start one with `fairway actor create NAME --kind human`, load the demo with `fairway demo --load-only --dir DIR`, or point --dir at an existing store", filepath.Dir(loc.Path))
	}
	return nil
}

func (a *app) openLedger(opts sqlite.Options) (*ledger.Ledger, error) {
	loc, err := a.storeLocation()
	if err != nil {
		return nil, err
	}
	var store fairway.Store
	given := loc.Path
	if loc.Kind == storeurl.SQLite {
		loc.Path = a.abs(loc.Path)
	}
	if a.stores != nil && loc.Kind == storeurl.SQLite && opts == (sqlite.Options{}) {
		s, release, err := a.stores.acquire(loc.Path)
		if err != nil {
			return nil, asGiven(err, loc.Path, given)
		}
		store, a.closer = s, release
	} else {
		s, err := storeurl.Open(a.ctx, loc, storeurl.Options{SQLite: opts})
		if err != nil {
			return nil, asGiven(err, loc.Path, given)
		}
		store, a.closer = s, func() { s.Close() }
	}
	bloc, err := a.blobLocation()
	if err != nil {
		return nil, err
	}
	given = bloc.Path
	if bloc.Kind == storeurl.BlobFile {
		bloc.Path = a.abs(bloc.Path)
	}
	blobs, err := storeurl.OpenBlobs(a.ctx, bloc)
	if err != nil {
		return nil, asGiven(err, bloc.Path, given)
	}
	l := ledger.New(store, blobs)
	l.Getenv = a.getenv // webhook secrets: the caller's environment, never a daemon's
	if a.now != nil {
		l.Now = a.now
	}
	return l, nil
}

// asGiven shows an error about the path resolved as the path the user
// gave, as the engine run in the caller's folder shows it.
func asGiven(err error, resolved, given string) error {
	if resolved == given {
		return err
	}
	return pathAsGiven{err, resolved, given}
}

type pathAsGiven struct {
	err             error
	resolved, given string
}

func (e pathAsGiven) Error() string { return strings.ReplaceAll(e.err.Error(), e.resolved, e.given) }
func (e pathAsGiven) Unwrap() error { return e.err }

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// printJSON writes v as indented JSON, every audit event in it with its
// change as stored, so a printed event or proof verifies as it is.
func (a *app) printJSON(v any) error {
	b, err := fairway.MarshalIndent(v)
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(append(b, '\n'))
	return err
}

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc
}

// output prints v as JSON with --json, or through human otherwise.
func (a *app) output(v any, human func(w io.Writer)) error {
	if a.json {
		return a.printJSON(v)
	}
	a.printHuman(human)
	return nil
}

// service checks the number of positional arguments, then connects.
func (a *app) service(pos []string, n int, names string) (fairway.Service, context.Context, error) {
	if err := wantArgs(pos, n, names); err != nil {
		return nil, nil, err
	}
	return a.connect()
}

func wantArgs(pos []string, n int, names string) error {
	if len(pos) != n {
		return usagef("want %s, got %d argument(s)", names, len(pos))
	}
	return nil
}
