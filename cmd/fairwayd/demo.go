package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"fairway"
	"fairway/demo"
	"fairway/ledger"
	"fairway/sqlite"
	"fairway/tlog"
)

func init() {
	register(&command{
		name: "demo", summary: "Load the GPUaaS governance scenario into a fresh store and serve it", args: "[--addr HOST:PORT] [--dir DIR] [--load-only]",
		example: `fairway demo                                   # Ctrl-C to stop
fairway demo --addr 127.0.0.1:9090 --dir demo-store
fairway demo --load-only --dir demo-store      # load and exit; then: fairway next --dir demo-store`,
		setup: func(fs *flag.FlagSet) runFunc {
			var addr string
			addrFlag(fs, &addr)
			loadOnly := fs.Bool("load-only", false, "load the scenario and exit without serving")
			return func(a *app, pos []string) error { return runDemo(a, pos, addr, *loadOnly) }
		},
	})
}

func runDemo(a *app, pos []string, addr string, loadOnly bool) error {
	if err := wantArgs(pos, 0, "no arguments"); err != nil {
		return err
	}
	// Bind first: a port in use must not cost a scenario load.
	var ln net.Listener
	if !loadOnly {
		var err error
		if ln, err = listen(addr); err != nil {
			return err
		}
		defer ln.Close()
	}
	if a.dir == "" && a.getenv("FAIRWAY_DIR") == "" {
		dir, err := os.MkdirTemp("", "fairway-demo-")
		if err != nil {
			return err
		}
		a.dir = dir
	}
	l, err := a.openLedger(sqlite.Options{})
	if err != nil {
		return err
	}
	if actors, err := l.ListActors(a.ctx); err != nil {
		return err
	} else if len(actors) > 0 {
		return fairway.Errorf(fairway.ECONFLICT, "%s already holds a ledger; the demo loads into an empty store (leave out --dir for a fresh one)", a.storeDir())
	}
	if err := demo.Load(a.ctx, l); err != nil {
		return fmt.Errorf("load the demo: %w", err)
	}
	fmt.Fprintf(a.stdout, "Loaded the GPUaaS closeout scenario into %s\nTry: fairway next --dir %s\n     fairway gate explain OPS-UAT-KIND-FULL-001 --dir %s\n", a.storeDir(), a.storeDir(), a.storeDir())
	if loadOnly {
		return nil
	}
	signIn, err := demoTokens(a, l)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Portal: http://%s/ — sign in with one of these tokens (this demo store only):\n%s", ln.Addr(), signIn)
	fmt.Fprintf(a.stdout, "Or open a one-time sign-in link (good once, for %s; `fairway portal login-link --as NAME --dir %s` makes more):\n", ledger.LoginLinkTTL, a.storeDir())
	for _, who := range []string{"omar", "sergei"} {
		link, err := l.IssueLoginLink(fairway.NewContextWithActor(a.ctx, &fairway.Actor{Name: who}), ledger.LoginLinkTTL, 0)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "  %-8s http://%s/login?link=%s\n", who, ln.Addr(), link.Link)
	}
	// A key of this run only signs checkpoints of the audit tree, so the
	// audit page shows them; it is never written anywhere.
	skey, vkey, err := tlog.GenerateKey("fairway-demo")
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Audit checkpoints are signed every minute with a key of this run; its public key:\n  %s\n", vkey)
	go signEvery(a, l, skey, time.Minute)
	return serveLedger(a, l, ln, nil, 0, nil)
}

// demoTokens issues tokens for a reviewer of each kind of decision the
// portal shows, and for an agent, to sign in with: a newcomer sees a
// reviewer's forms and an agent's refusal side by side. Each reviewer
// issues their own: a token another human issued is, for independence,
// that human's too (R2). olivia issues the agent's.
func demoTokens(a *app, l fairway.Service) (string, error) {
	var b strings.Builder
	for _, who := range []struct{ name, role, issuer string }{
		{"omar", "human, ops reviewer", "omar"},
		{"priya", "human, platform reviewer", "priya"},
		{"sergei", "human, security reviewer (MFA domain)", "sergei"},
		{"codex-1", "agent: sees no review forms", "olivia"},
	} {
		ctx := fairway.NewContextWithActor(a.ctx, &fairway.Actor{Name: who.issuer})
		out, err := l.RotateToken(ctx, who.name, 0)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "  %-8s %-40s %s\n", who.name, who.role, out.Token)
	}
	return b.String(), nil
}
