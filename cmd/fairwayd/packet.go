package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"fairway"
	"fairway/attest"
	"fairway/tlog"
)

// exportPacket writes a task's evidence packet into dir: each evidence
// record, approval and the gate decision as a signed in-toto statement,
// the evidence bytes, and inclusion proofs of the audit events behind
// them against a checkpoint signed with the same key.
func exportPacket(a *app, task, dir, keyFile string) error {
	svc, ctx, err := a.service(nil, 0, "")
	if err != nil {
		return err
	}
	if dir == "" {
		return fairway.FieldError("out", "is required: the folder to write the packet to")
	}
	if err := attest.CheckPacketDir(dir); err != nil {
		return err
	}
	path := firstNonEmpty(keyFile, a.getenv("FAIRWAY_SIGNING_KEY"))
	if path == "" {
		return fairway.FieldError("key", "is required: the private key file that signs the statements and the checkpoint (or set FAIRWAY_SIGNING_KEY)")
	}
	skey, err := readSigningKey("key", path)
	if err != nil {
		return err
	}
	t, err := svc.GetTask(ctx, task)
	if err != nil {
		return err
	}
	cp, err := packetCheckpoint(svc, ctx, skey)
	if err != nil {
		return err
	}
	evidence, err := svc.ListEvidence(ctx, fairway.EvidenceFilter{Task: t.Key})
	if err != nil {
		return err
	}
	reviews, err := svc.ListReviews(ctx, t.Key)
	if err != nil {
		return err
	}
	waivers, err := svc.ListWaivers(ctx, t.Key, "")
	if err != nil {
		return err
	}
	// Find the events that wrote each record, within the signed tree.
	var (
		evEvents     = map[string]int64{}
		reviewEvents = map[int64]int64{}
		waiverEvents = map[int64]int64{}
		closeEvent   *fairway.AuditEvent
		policyEvents = map[string]int64{}
	)
	err = eachEvent(svc, ctx, func(e *fairway.AuditEvent) error {
		if e.Seq > cp.Size {
			return nil
		}
		var c struct {
			ID     json.RawMessage `json:"id"`
			Digest string          `json:"digest"`
		}
		json.Unmarshal(e.Change, &c)
		id := strings.Trim(string(c.ID), `"`)
		switch {
		case e.Action == "policy.bootstrap" || e.Action == "policy.activate":
			policyEvents[c.Digest] = e.Seq
		case e.Subject != t.Key:
		case e.Action == "evidence.add":
			evEvents[id] = e.Seq
		case strings.HasPrefix(e.Action, "review.") && !strings.HasSuffix(e.Action, ".refused"):
			var n int64
			fmt.Sscan(id, &n)
			reviewEvents[n] = e.Seq
		case e.Action == "waiver.approve":
			var n int64
			fmt.Sscan(id, &n)
			waiverEvents[n] = e.Seq
		case e.Action == "task.close":
			closeEvent = e
		}
		return nil
	})
	if err != nil {
		return err
	}
	in := &attest.PacketInput{Task: t.Key, Checkpoint: cp,
		Open:  func(id, part string) (io.ReadCloser, error) { return svc.OpenEvidence(ctx, id, part) },
		Prove: func(seq int64) (*fairway.InclusionProof, error) { return svc.InclusionProof(ctx, seq, cp.Size) }}
	missing := func(what string) error {
		return fairway.Errorf(fairway.ECONFLICT, "%s has no audit event in the signed log: run `fairway audit verify`", what)
	}
	for _, e := range evidence {
		seq := evEvents[e.ID]
		if seq == 0 {
			return missing("evidence " + e.ID)
		}
		in.Evidence = append(in.Evidence, attest.PacketEvidence{Record: e, Event: seq})
	}
	for _, r := range reviews {
		seq := reviewEvents[r.ID]
		if seq == 0 {
			return missing(fmt.Sprintf("review %d", r.ID))
		}
		in.Reviews = append(in.Reviews, attest.PacketReview{Record: r, Event: seq})
	}
	for _, w := range waivers {
		if w.ApprovedBy == "" || w.Task != t.Key {
			continue
		}
		seq := waiverEvents[w.ID]
		if seq == 0 {
			return missing(fmt.Sprintf("waiver %d", w.ID))
		}
		in.Waivers = append(in.Waivers, attest.PacketWaiver{Record: w, Event: seq})
	}
	if t.Status == fairway.StatusDone && closeEvent != nil {
		var c struct {
			Decision *fairway.GateDecision `json:"decision"`
		}
		if err := json.Unmarshal(closeEvent.Change, &c); err != nil || c.Decision == nil {
			return fairway.Errorf(fairway.ECONFLICT, "the task.close event %d holds no gate decision", closeEvent.Seq)
		}
		in.Gate, in.GateEvent = c.Decision, closeEvent.Seq
	} else if in.Gate, err = svc.ExplainGate(ctx, t.Key); err != nil {
		return err
	}
	if d := in.Gate.PolicyDigest; d != "" {
		if in.PolicyEvent = policyEvents[d]; in.PolicyEvent == 0 {
			return missing("policy " + d)
		}
	}
	m, err := attest.WritePacket(dir, in, skey)
	if err != nil {
		return err
	}
	return a.output(m, func(w io.Writer) {
		fmt.Fprintf(w, "wrote the evidence packet of %s to %s: %d statement(s) (%d evidence, %d review(s), %d waiver(s), gate %s), proofs against checkpoint %s/%d\n",
			t.Key, dir, len(m.Items), len(in.Evidence), len(in.Reviews), len(in.Waivers), passWord(in.Gate.Pass), cp.Origin, cp.Size)
		fmt.Fprintf(w, "check it anywhere: fairway-verify packet %s --key PUBKEY\n", dir)
	})
}

func passWord(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

// packetCheckpoint returns a checkpoint of the current tree signed with
// skey: the newest stored one when it is of this key and this size, else
// a new one, published.
func packetCheckpoint(svc fairway.Service, ctx context.Context, skey string) (*fairway.Checkpoint, error) {
	head, err := svc.AuditTree(ctx)
	if err != nil {
		return nil, err
	}
	vkey, err := tlog.VerifierKeyFor(skey)
	if err != nil {
		return nil, err
	}
	if latest, err := svc.Checkpoints(ctx, fairway.CheckpointFilter{Limit: 1}); err == nil && len(latest) == 1 && latest[0].Size == head.Size {
		if c, err := tlog.Open([]byte(latest[0].Note), vkey); err == nil {
			return c, nil
		}
	}
	signed, err := tlog.Sign(skey, head)
	if err != nil {
		return nil, fairway.FieldError("key", "%v", err)
	}
	c, err := svc.PublishCheckpoint(ctx, &fairway.CheckpointInput{Note: signed.Note, VerifierKey: signed.VerifierKey})
	if err != nil {
		return nil, err
	}
	return tlog.Open([]byte(c.Note), vkey)
}
