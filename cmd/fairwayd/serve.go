package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"syscall"
	"time"

	"fairway"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/mcp"
	"fairway/portal"
	"fairway/provider"
	"fairway/sqlite"
	"fairway/tlog"
)

// serveOptions are the flags of `fairway serve`.
type serveOptions struct {
	addr         string
	store        string
	blobs        string
	oidc         fairwayhttp.OIDCConfig
	mfaACR       *listFlag
	mfaMaxAge    time.Duration
	maxEvidenceM int
	signKey      string
	signEvery    time.Duration
	clientID     string
	clientSecret string
}

func init() {
	register(&command{
		name: "serve", summary: "Serve the JSON API and the portal on the local store", args: "[--addr HOST:PORT]",
		example: `fairway serve --addr 127.0.0.1:8080     # Ctrl-C to stop
curl -H "Authorization: Bearer $FAIRWAY_TOKEN" http://127.0.0.1:8080/api/v1/next`,
		setup: func(fs *flag.FlagSet) runFunc {
			o := serveOptions{}
			addrFlag(fs, &o.addr)
			fs.StringVar(&o.store, "store", "", "store `URL`: postgres://…, sqlite:PATH or a path (default $FAIRWAY_STORE, else the local store)")
			fs.StringVar(&o.blobs, "blobs", "", "evidence bytes at this `URL`: s3://BUCKET/PREFIX?endpoint=HOST:PORT or a folder (default $FAIRWAY_BLOBS, else the blobs folder of the local store)")
			fs.StringVar(&o.oidc.Issuer, "oidc-issuer", "", "accept ID tokens from this OIDC issuer (default $FAIRWAY_OIDC_ISSUER)")
			fs.StringVar(&o.oidc.Audience, "oidc-audience", "", "the audience (client ID) tokens must carry (default $FAIRWAY_OIDC_AUDIENCE)")
			fs.StringVar(&o.clientID, "oidc-client-id", "", "with --oidc-issuer: the portal signs people in through the issuer (authorization code with PKCE) as this client (default $FAIRWAY_OIDC_CLIENT_ID; also the default audience)")
			fs.StringVar(&o.clientSecret, "oidc-client-secret", "", "the client's secret, for a confidential client (default $FAIRWAY_OIDC_CLIENT_SECRET, which keeps it out of the process list)")
			fs.StringVar(&o.oidc.UsernameClaim, "oidc-username-claim", "preferred_username", "claim naming the actor")
			fs.StringVar(&o.oidc.GroupsClaim, "oidc-groups-claim", "groups", "claim listing the caller's groups")
			o.mfaACR = listVar(fs, "oidc-mfa-acr", "an acr `VALUE` that proves MFA (repeatable); amr values such as otp or hwk always do")
			fs.DurationVar(&o.mfaMaxAge, "mfa-max-age", 15*time.Minute, "how recent auth_time must be for an approval that needs MFA")
			fs.IntVar(&o.maxEvidenceM, "max-evidence-mib", int(fairwayhttp.DefaultMaxEvidenceBytes>>20), "largest evidence upload accepted, in MiB")
			fs.StringVar(&o.signKey, "sign-key", "", "sign a checkpoint of the audit tree with this private key `FILE` on an interval (default $FAIRWAY_SIGNING_KEY)")
			fs.DurationVar(&o.signEvery, "checkpoint-every", time.Minute, "how often to sign a checkpoint when the log has grown (with --sign-key)")
			return func(a *app, pos []string) error { return serve(a, pos, o) }
		},
	})
}

// addrFlag defines --addr, shared by serve and demo.
func addrFlag(fs *flag.FlagSet, addr *string) {
	fs.StringVar(addr, "addr", "127.0.0.1:8080", "`HOST:PORT` to listen on")
}

func serve(a *app, pos []string, o serveOptions) error {
	if err := wantArgs(pos, 0, "no arguments"); err != nil {
		return err
	}
	ln, err := listen(o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	a.store, a.blobs = o.store, o.blobs
	l, err := a.openLedger(sqlite.Options{})
	if err != nil {
		return err
	}
	var auth fairwayhttp.Authenticator = ledger.TokenAuth{L: l}
	l.MFAMaxAge = o.mfaMaxAge
	l.StepUpACR = o.mfaACR.vals
	oidc := o.oidc
	oidc.Issuer = firstNonEmpty(oidc.Issuer, a.getenv("FAIRWAY_OIDC_ISSUER"))
	clientID := firstNonEmpty(o.clientID, a.getenv("FAIRWAY_OIDC_CLIENT_ID"))
	oidc.Audience = firstNonEmpty(oidc.Audience, a.getenv("FAIRWAY_OIDC_AUDIENCE"), clientID)
	var login *portal.OIDCLogin
	if clientID != "" && oidc.Issuer == "" {
		return fairway.FieldError("oidc-client-id", "needs --oidc-issuer: the identity provider to sign people in through")
	}
	if oidc.Issuer != "" {
		oidc.MFAACRValues, oidc.MaxAge = l.StepUpACR, o.mfaMaxAge
		oa, err := fairwayhttp.NewOIDCAuth(a.ctx, oidc, l.ActorForIdentity, auth)
		if err != nil {
			return err
		}
		auth = oa
		if clientID != "" {
			if login, err = portal.NewOIDCLogin(a.ctx, oidc.Issuer, clientID, firstNonEmpty(o.clientSecret, a.getenv("FAIRWAY_OIDC_CLIENT_SECRET"))); err != nil {
				return err
			}
		}
	}
	if path := firstNonEmpty(o.signKey, a.getenv("FAIRWAY_SIGNING_KEY")); path != "" {
		skey, err := readSigningKey("sign-key", path)
		if err != nil {
			return err
		}
		if o.signEvery <= 0 {
			return fairway.FieldError("checkpoint-every", "must be a positive duration such as 1m")
		}
		go signEvery(a, l, skey, o.signEvery)
	}
	return serveLedger(a, l, ln, auth, int64(o.maxEvidenceM)<<20, login)
}

// readSigningKey reads a private key file and checks it can sign.
func readSigningKey(flag, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fairway.FieldError(flag, "%v", err)
	}
	if _, _, err := tlog.PrivateKey(string(b)); err != nil {
		return "", fairway.FieldError(flag, "%s: %v", path, err)
	}
	return string(b), nil
}

// signEvery signs a checkpoint on every tick until the command stops.
func signEvery(a *app, l *ledger.Ledger, skey string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last *fairway.Checkpoint
	for {
		if c, err := signIfGrown(a.ctx, l, skey, last); err != nil {
			fmt.Fprintf(a.stderr, "fairway serve: checkpoint not signed: %v\n", err)
		} else if c != nil {
			last = c
		}
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// signIfGrown signs and stores a checkpoint when the tree has grown past
// the newest stored one; nil when there is nothing new to sign. last is
// the checkpoint this process signed before, if any: a tree that does not
// extend it (the store swapped for an older copy, or cut back, under the
// running server) is refused, as the ledger refuses one that does not
// extend the newest stored.
func signIfGrown(ctx context.Context, l *ledger.Ledger, skey string, last *fairway.Checkpoint) (*fairway.Checkpoint, error) {
	if last != nil {
		if err := l.ExtendsCheckpoint(ctx, last); err != nil {
			return nil, err
		}
	}
	head, err := l.AuditTree(ctx)
	if err != nil {
		return nil, err
	}
	latest, err := l.Checkpoints(ctx, fairway.CheckpointFilter{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(latest) > 0 && latest[0].Size >= head.Size {
		return nil, nil
	}
	c, err := l.SignCheckpoint(ctx, skey, "fairway serve")
	if fairway.ErrorCode(err) == fairway.ECONFLICT {
		// Another replica signed the same tree head with the same key,
		// or the log no longer extends what was signed: say the latter.
		if latest, lerr := l.Checkpoints(ctx, fairway.CheckpointFilter{Limit: 1}); lerr == nil && len(latest) > 0 && latest[0].Size >= head.Size && l.ExtendsCheckpoint(ctx, latest[0]) == nil {
			return nil, nil
		}
	}
	return c, err
}

// listen binds addr, and says what to do when it cannot: a port in use is
// the common case, and --addr the way out.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fairway.FieldError("addr", "%s is already in use (another Fairway?); stop it or choose another address with --addr HOST:PORT", addr)
	case err != nil:
		return nil, fairway.FieldError("addr", "cannot listen on %s: %v; choose another address with --addr HOST:PORT", addr, errors.Unwrap(err))
	}
	return ln, nil
}

// serveLedger serves the API and the overview page for l on ln until the
// command is interrupted. auth defaults to Fairway's bearer tokens.
func serveLedger(a *app, l *ledger.Ledger, ln net.Listener, auth fairwayhttp.Authenticator, maxEvidence int64, login *portal.OIDCLogin) error {
	if auth == nil {
		auth = ledger.TokenAuth{L: l}
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, nil))
	srv := fairwayhttp.NewServer(l, auth, logger)
	if maxEvidence > 0 {
		srv.MaxEvidenceBytes = maxEvidence
	}
	// The portal's pages sit beside the API, behind the same authenticator:
	// a person signs in once with a token kept in an HttpOnly cookie.
	pt := portal.New(l, auth, nil, logger)
	pt.OIDC = login
	pt.Links = l
	srv.Handle("/", pt.Handler())
	// Agents use Fairway as tools at /mcp, with the API's bearer tokens.
	srv.MountMCP(mcp.HTTPHandler(l, auth))
	actors, err := l.ListActors(a.ctx)
	if err != nil {
		return err
	}
	// After a restart no stored "attached" is trusted: sessions whose
	// process or pane cannot be confirmed become interrupted (R10).
	interrupted, err := l.Reconcile(a.ctx, provider.Liveness)
	if err != nil {
		return err
	}
	for _, s := range interrupted {
		logger.Info("session interrupted at start", "session", s.ID, "task", s.Task, "reason", s.Reason)
	}
	go sweepSessions(a.ctx, l, logger)
	return srv.Serve(a.ctx, ln, func(bound net.Addr) {
		loc, _ := a.storeLocation()
		bloc, _ := a.blobLocation()
		fmt.Fprintf(a.stdout, "Fairway is serving http://%s (store %s, blobs %s); Ctrl-C to stop\n", bound, loc, bloc)
		if len(actors) > 0 {
			fmt.Fprintf(a.stdout, "Sign in to the portal with a one-time link: fairway portal login-link --as NAME --url http://%s\n", bound)
		}
		if len(actors) == 0 {
			fmt.Fprintf(a.stdout, "The ledger is empty. Create the first actor in another terminal:\n  fairway actor create YOUR-NAME --kind human\n")
		}
	})
}

// sessionSweep is how often serve ends sessions whose lease ran out. A
// write that looks at a session expires it anyway; the sweep frees the
// tasks no one touches.
const sessionSweep = 15 * time.Second

func sweepSessions(ctx context.Context, l *ledger.Ledger, logger *slog.Logger) {
	t := time.NewTicker(sessionSweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := l.ExpireSessions(ctx); err != nil && ctx.Err() == nil {
				logger.Error("session sweep", "err", err)
			} else if n > 0 {
				logger.Info("sessions expired", "count", n)
			}
		}
	}
}
