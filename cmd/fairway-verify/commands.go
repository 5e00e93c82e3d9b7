package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"fairway"
	"fairway/attest"
	"fairway/tlog"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func readKey(key string) (string, error) {
	if key == "" {
		return "", usagef("--key is required: the public verifier key, or a file holding it")
	}
	vkey, err := tlog.ReadVerifierKey(key)
	if err != nil {
		return "", usagef("--key: %v", err)
	}
	return vkey, nil
}

func readCheckpoints(files []string, vkey string) ([]*fairway.Checkpoint, error) {
	if len(files) == 0 {
		return nil, usagef("--checkpoint is required: a signed checkpoint file")
	}
	var out []*fairway.Checkpoint
	for _, f := range files {
		c, err := tlog.OpenFile(f, vkey)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return nil, usagef("--checkpoint: %v", err)
			}
			return nil, failf("checkpoint %v", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// printJSON writes v indented, every audit event in it (a log's first
// difference names two) with its change as stored.
func printJSON(w io.Writer, v any) error {
	b, err := fairway.MarshalIndent(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

var logCommand = &command{
	name: "log", args: "EXPORT.jsonl --key KEY --checkpoint CP [--checkpoint CP ...] [--previous OLD.jsonl] [--json]",
	summary: "check an exported audit log (fairway audit export) against signed checkpoints",
	example: "fairway-verify log --key audit.pub --checkpoint monday.checkpoint audit.jsonl",
	run: func(ctx context.Context, e *env, args []string) error {
		fs := flag.NewFlagSet("log", flag.ContinueOnError)
		key := fs.String("key", "", "public verifier key, or a file holding it")
		var cps multi
		fs.Var(&cps, "checkpoint", "signed checkpoint file (repeat: each one narrows down where a rewrite starts)")
		previous := fs.String("previous", "", "an earlier export, checked against the checkpoints it covers: a rewrite is then named at the first event that differs from it")
		asJSON := fs.Bool("json", false, "print the result as JSON")
		pos, err := parse(fs, args, 1, "the exported log EXPORT.jsonl")
		if err != nil {
			return err
		}
		vkey, err := readKey(*key)
		if err != nil {
			return err
		}
		points, err := readCheckpoints(cps, vkey)
		if err != nil {
			return err
		}
		var prev *tlog.Verification
		if *previous != "" {
			if prev, err = verifyPrevious(*previous, points); err != nil {
				return err
			}
		}
		f, err := os.Open(pos[0])
		if err != nil {
			return usagef("%v", err)
		}
		defer f.Close()
		v, err := tlog.VerifyLog(f, points)
		if err != nil {
			return failf("%s: %v", pos[0], err)
		}
		if *asJSON {
			printJSON(e.stdout, v)
		}
		if !v.OK {
			msg := fmt.Sprintf("first bad event %d: %s", v.FirstBadSeq, v.Problem)
			if prev != nil {
				d, err := firstDifference(*previous, pos[0])
				if err != nil {
					return failf("%s; comparing with %s: %v", msg, *previous, err)
				}
				msg += describeDifference(d, prev, *previous)
			}
			return failf("%s", msg)
		}
		if !*asJSON {
			fmt.Fprintf(e.stdout, "VALID: %d events match the signed checkpoints %v, root %s\n", v.Events, v.Checked, b64(v.Root))
		}
		return nil
	},
}

var proofCommand = &command{
	name: "proof", args: "PROOF.json --key KEY --checkpoint CP [--checkpoint NEWER] [--json]",
	summary: "check an inclusion proof (fairway audit prove --json) against a checkpoint, or a consistency proof (fairway audit consistency --json) between two",
	example: "fairway-verify proof --key audit.pub --checkpoint monday.checkpoint event12.proof",
	run: func(ctx context.Context, e *env, args []string) error {
		fs := flag.NewFlagSet("proof", flag.ContinueOnError)
		key := fs.String("key", "", "public verifier key, or a file holding it")
		var cps multi
		fs.Var(&cps, "checkpoint", "signed checkpoint file; for a consistency proof, the older then the newer")
		asJSON := fs.Bool("json", false, "print the result as JSON")
		pos, err := parse(fs, args, 1, "the proof file PROOF.json")
		if err != nil {
			return err
		}
		vkey, err := readKey(*key)
		if err != nil {
			return err
		}
		points, err := readCheckpoints(cps, vkey)
		if err != nil {
			return err
		}
		raw, err := os.ReadFile(pos[0])
		if err != nil {
			return usagef("%v", err)
		}
		var shape map[string]json.RawMessage
		if err := json.Unmarshal(raw, &shape); err != nil {
			return failf("%s is not a proof: %v", pos[0], err)
		}
		if _, ok := shape["seq"]; ok {
			var p fairway.InclusionProof
			if err := json.Unmarshal(raw, &p); err != nil {
				return failf("%s: %v", pos[0], err)
			}
			if len(points) != 1 {
				return usagef("an inclusion proof is checked against one --checkpoint, got %d", len(points))
			}
			if err := tlog.CheckInclusion(&p, points[0]); err != nil {
				return failf("%s: %v", pos[0], err)
			}
			res := map[string]any{"valid": true, "seq": p.Seq, "action": p.Event.Action, "subject": p.Event.Subject, "size": points[0].Size, "root": points[0].Root}
			if *asJSON {
				return printJSON(e.stdout, res)
			}
			fmt.Fprintf(e.stdout, "VALID: event %d (%s %s) is in the log checkpoint %s/%d signed, root %s\n", p.Seq, p.Event.Action, p.Event.Subject, points[0].Origin, points[0].Size, b64(points[0].Root))
			return nil
		}
		var p fairway.ConsistencyProof
		if err := json.Unmarshal(raw, &p); err != nil {
			return failf("%s: %v", pos[0], err)
		}
		if len(points) != 2 {
			return usagef("a consistency proof is checked between two checkpoints (--checkpoint OLD --checkpoint NEW), got %d", len(points))
		}
		older, newer := points[0], points[1]
		if p.From != older.Size || p.To != newer.Size {
			return failf("%s proves %d→%d, but the checkpoints sign %d and %d", pos[0], p.From, p.To, older.Size, newer.Size)
		}
		if err := tlog.CheckConsistency(older, newer, p.Hashes); err != nil {
			return failf("%v", err)
		}
		if *asJSON {
			return printJSON(e.stdout, map[string]any{"valid": true, "from": older.Size, "to": newer.Size, "from_root": older.Root, "to_root": newer.Root})
		}
		fmt.Fprintf(e.stdout, "VALID: the log at checkpoint %d (root %s) extends the log at checkpoint %d (root %s)\n", newer.Size, b64(newer.Root), older.Size, b64(older.Root))
		return nil
	},
}

var packetCommand = &command{
	name: "packet", args: "DIR --key KEY [--json]",
	summary: "check a task's evidence packet (fairway export TASK --out DIR): signatures, evidence digests, records against their audit events, inclusion proofs",
	example: "fairway-verify packet OPS-FIX-001.packet --key audit.pub",
	run: func(ctx context.Context, e *env, args []string) error {
		fs := flag.NewFlagSet("packet", flag.ContinueOnError)
		key := fs.String("key", "", "public verifier key, or a file holding it")
		asJSON := fs.Bool("json", false, "print the result as JSON")
		pos, err := parse(fs, args, 1, "the packet folder DIR")
		if err != nil {
			return err
		}
		vkey, err := readKey(*key)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(pos[0]); err != nil || !fi.IsDir() {
			return usagef("%s is not a folder: give the packet folder `fairway export TASK --out DIR` wrote", pos[0])
		}
		rep, err := attest.VerifyPacket(pos[0], vkey)
		if err != nil {
			return failf("%v", err)
		}
		if *asJSON {
			return printJSON(e.stdout, rep)
		}
		fmt.Fprintf(e.stdout, "VALID: packet of %s: %d signed statement(s), %d evidence blob(s) matching their digests, %d audit event(s) %v in the log checkpoint %s/%d signed\n",
			rep.Task, rep.Statements, rep.Blobs, len(rep.Events), rep.Events, rep.Checkpoint.Origin, rep.Checkpoint.Size)
		return nil
	},
}

var watchCommand = &command{
	name: "watch", args: "URL --key KEY --state FILE [--every DURATION] [--once] [--token TOKEN]",
	summary: "witness a server: fetch its checkpoint, prove it extends the last one seen (kept in FILE), and fail loudly when it does not",
	example: "fairway-verify watch https://fairway.example.com --key audit.pub --state witness.checkpoint --every 5m",
	run: func(ctx context.Context, e *env, args []string) error {
		fs := flag.NewFlagSet("watch", flag.ContinueOnError)
		key := fs.String("key", "", "public verifier key, or a file holding it")
		state := fs.String("state", "", "file keeping the last checkpoint seen (created on the first poll)")
		every := fs.Duration("every", time.Minute, "time between polls")
		once := fs.Bool("once", false, "poll once and exit (for cron or CI)")
		token := fs.String("token", "", "bearer token, if the server asks for one (default $FAIRWAY_TOKEN)")
		pos, err := parse(fs, args, 1, "the server URL")
		if err != nil {
			return err
		}
		vkey, err := readKey(*key)
		if err != nil {
			return err
		}
		if *state == "" {
			return usagef("--state is required: the file that keeps the last checkpoint seen")
		}
		base, err := url.Parse(strings.TrimRight(pos[0], "/"))
		if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
			return usagef("%q is not an http(s) URL of a fairway server", pos[0])
		}
		if *every <= 0 {
			return usagef("--every must be positive")
		}
		w := &witness{base: base, vkey: vkey, state: *state, token: *token, out: e.stdout}
		if w.token == "" {
			w.token = e.getenv("FAIRWAY_TOKEN")
		}
		for {
			if err := w.poll(ctx); err != nil {
				return err
			}
			if *once {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(*every):
			}
		}
	},
}

// witness keeps the last checkpoint it verified and checks that each new
// one extends it.
type witness struct {
	base        *url.URL
	vkey, state string
	token       string
	out         io.Writer
}

func (w *witness) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	u := *w.base
	u.Path += path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		return nil, err
	}
	if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", u.Path, shown(resp.Status), shown(string(bytes.TrimSpace(body))))
	}
	return body, nil
}

// shown is what the server said, fit for a terminal: control bytes
// escaped (never terminal escape sequences) and cut to 500 bytes.
func shown(s string) string {
	cut := ""
	if len(s) > 500 {
		s, cut = strings.ToValidUTF8(s[:500], ""), "… (cut)"
	}
	q := strconv.Quote(s)
	return q[1:len(q)-1] + cut
}

func (w *witness) poll(ctx context.Context) error {
	note, err := w.get(ctx, "/api/v1/checkpoint", nil)
	if err != nil {
		return err
	}
	cur, err := tlog.Open(note, w.vkey)
	if err != nil {
		return failf("the server's checkpoint does not verify with the key: %v", err)
	}
	prevNote, err := os.ReadFile(w.state)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(w.out, "first checkpoint seen: %s/%d root %s (kept in %s)\n", cur.Origin, cur.Size, b64(cur.Root), w.state)
		return w.keep(note)
	} else if err != nil {
		return err
	}
	prev, err := tlog.Open(prevNote, w.vkey)
	if err != nil {
		return failf("the state file %s holds no checkpoint of this key: %v", w.state, err)
	}
	var hashes [][]byte
	if prev.Size > 0 && prev.Size < cur.Size {
		body, err := w.get(ctx, "/api/v1/audit/proof/consistency", url.Values{"from": {strconv.FormatInt(prev.Size, 10)}, "to": {strconv.FormatInt(cur.Size, 10)}})
		if err != nil {
			return failf("the server gives no consistency proof from %d to %d: %v", prev.Size, cur.Size, err)
		}
		var p fairway.ConsistencyProof
		if err := json.Unmarshal(body, &p); err != nil {
			return failf("the server's consistency proof is not JSON: %v", err)
		}
		hashes = p.Hashes
	}
	if err := tlog.CheckConsistency(prev, cur, hashes); err != nil {
		// The state keeps the last good checkpoint: every later poll fails
		// too, until a person looks.
		return failf("the log was REWRITTEN: %v (state %s kept unchanged)", err, w.state)
	}
	if cur.Size == prev.Size {
		fmt.Fprintf(w.out, "unchanged: %s/%d root %s\n", cur.Origin, cur.Size, b64(cur.Root))
		return nil
	}
	fmt.Fprintf(w.out, "checkpoint %d (root %s) extends %d (root %s)\n", cur.Size, b64(cur.Root), prev.Size, b64(prev.Root))
	return w.keep(note)
}

// keep replaces the state file atomically.
func (w *witness) keep(note []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(w.state), ".witness-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(note); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), w.state)
}

// verifyPrevious checks an earlier export against the checkpoints no
// larger than it, so that what it says can be trusted as far as they sign.
func verifyPrevious(file string, points []*fairway.Checkpoint) (*tlog.Verification, error) {
	n, err := countEvents(file)
	if err != nil {
		return nil, err
	}
	var covered []*fairway.Checkpoint
	for _, c := range points {
		if c.Size <= n {
			covered = append(covered, c)
		}
	}
	if len(covered) == 0 {
		return nil, usagef("--previous: %s holds %d events, fewer than every checkpoint given: give the checkpoint it was checked against too", file, n)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, usagef("--previous: %v", err)
	}
	defer f.Close()
	v, err := tlog.VerifyLog(f, covered)
	if err != nil {
		return nil, failf("the previous log %s: %v", file, err)
	}
	if !v.OK {
		return nil, failf("the previous log %s does not match the checkpoints either (first bad event %d: %s)", file, v.FirstBadSeq, v.Problem)
	}
	return v, nil
}

func countEvents(file string) (int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, usagef("--previous: %v", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	var n int64
	for {
		var skip json.RawMessage
		if err := dec.Decode(&skip); errors.Is(err, io.EOF) {
			return n, nil
		} else if err != nil {
			return 0, failf("the previous log %s, record %d: %v", file, n+1, err)
		}
		n++
	}
}

func firstDifference(older, newer string) (*tlog.Difference, error) {
	a, err := os.Open(older)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	b, err := os.Open(newer)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return tlog.FirstDifference(a, b)
}

// describeDifference says where the log parts from the earlier export,
// and whether a checkpoint signs the earlier event there.
func describeDifference(d *tlog.Difference, prev *tlog.Verification, file string) string {
	if d.Seq == 0 {
		return fmt.Sprintf("; the log still holds every event of %s unchanged", file)
	}
	signed := int64(0)
	if n := len(prev.Checked); n > 0 {
		signed = prev.Checked[n-1]
	}
	how := "no checkpoint given signs that event of the previous log"
	if d.Seq <= signed {
		how = fmt.Sprintf("the previous log's event is signed by checkpoint %d", signed)
	}
	if d.New == nil {
		return fmt.Sprintf("; against %s, the log ends before event %d (%s %s), which is gone: %s", file, d.Seq, d.Old.Action, d.Old.Subject, how)
	}
	return fmt.Sprintf("; against %s, event %d is the first that differs: it was %s %s %s, it is now %s %s %s: %s",
		file, d.Seq, d.Old.Action, d.Old.Subject, d.Old.Change, d.New.Action, d.New.Subject, d.New.Change, how)
}
