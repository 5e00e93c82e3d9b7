package main

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"fairway"
	"fairway/policy"
)

// helpPolicy is the policy in force, for help text: read from the server
// or the local store when there is one, never creating a store; nil (the
// defaults) otherwise.
func (a *app) helpPolicy() (*policy.Policy, string) {
	if !a.remote() {
		if loc := firstNonEmpty(a.store, a.getenv("FAIRWAY_STORE")); loc == "" {
			if _, err := os.Stat(a.abs(a.storePath())); err != nil {
				return nil, "the defaults (no store found)"
			}
		}
	}
	svc, ctx, err := a.connect()
	if err != nil {
		return nil, "the defaults (the store could not be read)"
	}
	rec, err := svc.ActivePolicy(ctx)
	if err != nil {
		return nil, "the defaults (no policy in force)"
	}
	p, err := policy.Load(rec.File, []byte(rec.Source))
	if err != nil {
		return nil, "the defaults (the policy in force did not load)"
	}
	return p, "the policy in force (" + rec.Digest + ")"
}

// printKinds lists every evidence kind the policy knows, whether it counts
// as proof and what success means for it.
func printKinds(a *app, w io.Writer) {
	p, from := a.helpPolicy()
	fmt.Fprintf(w, "\nEvidence kinds, from %s:\n", from)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, h := range p.KindsHelp() {
		proof := "proof"
		if !h.Proof {
			proof = "not proof"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", h.Kind, proof, h.Success)
	}
	tw.Flush()
}

// printRunKinds is printKinds with what run records by default.
func printRunKinds(a *app, w io.Writer) {
	fmt.Fprintf(w, "\nWithout --kind, run records %s evidence: the command's argv, working directory, exit code,\n"+
		"start and end, source commit and dirty state, environment fingerprint, and its output.\n", fairway.EvidenceCommandResult)
	printKinds(a, w)
}
