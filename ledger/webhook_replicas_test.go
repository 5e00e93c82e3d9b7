package ledger_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
	"fairway/postgres"
	"fairway/sqlite"

	"github.com/jackc/pgx/v5"
)

// replicaStores opens two stores on one database, as two `fairway serve`
// replicas would: two handles on one SQLite file, or two connections to
// one PostgreSQL schema (when FAIRWAY_TEST_POSTGRES names a server).
var replicaStores = map[string]func(t *testing.T) (fairway.Store, fairway.Store){
	"sqlite": func(t *testing.T) (fairway.Store, fairway.Store) {
		file := filepath.Join(t.TempDir(), "fairway.db")
		open := func() fairway.Store {
			s, err := sqlite.Open(context.Background(), file, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open()
	},
	"postgres": func(t *testing.T) (fairway.Store, fairway.Store) {
		url := os.Getenv("FAIRWAY_TEST_POSTGRES")
		if url == "" {
			t.Skip("PostgreSQL tests need a server: set FAIRWAY_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)")
		}
		b := make([]byte, 8)
		rand.Read(b)
		schema := "fairway_test_" + hex.EncodeToString(b)
		t.Cleanup(func() {
			conn, err := pgx.Connect(context.Background(), url)
			if err != nil {
				t.Errorf("drop schema %s: %v", schema, err)
				return
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
				t.Errorf("drop schema %s: %v", schema, err)
			}
		})
		open := func() fairway.Store {
			s, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open()
	},
}

// webhookReplicas returns two ledgers over one database and one blob
// folder, set up with the demo policy, both reading the clock given.
func webhookReplicas(t *testing.T, stores func(*testing.T) (fairway.Store, fairway.Store), now func() time.Time) (*ledger.Ledger, *ledger.Ledger) {
	a, b := stores(t)
	dir := t.TempDir()
	one, two := webhookReplica(t, a, dir, now, nil), webhookReplica(t, b, dir, now, nil)
	setUp(t, one, true)
	return one, two
}

// webhookReplica is one replica's ledger over store and the blob folder
// dir, with the webhook secrets in its environment; wrap, when given,
// stands between the ledger and its blobs.
func webhookReplica(t *testing.T, s fairway.Store, dir string, now func() time.Time, wrap func(fairway.BlobStore) fairway.BlobStore) *ledger.Ledger {
	files, err := blob.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	var blobs fairway.BlobStore = files
	if wrap != nil {
		blobs = wrap(blobs)
	}
	l := ledger.New(s, blobs)
	l.Now = now
	l.Getenv = func(k string) string {
		return map[string]string{"FAIRWAY_GITHUB_WEBHOOK_SECRET": "It's a Secret to Everybody", "FAIRWAY_CI_WEBHOOK_SECRET": "generic-s3cret"}[k]
	}
	return l
}

// genericDelivery signs a generic CI event at the time given.
func genericDelivery(id string, body []byte, at time.Time) fairway.WebhookDelivery {
	stamp := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte("generic-s3cret"))
	mac.Write([]byte(stamp + "."))
	mac.Write(body)
	return fairway.WebhookDelivery{Source: "generic", Delivery: id, Timestamp: stamp, Body: body, Signature: "sha256=" + hex.EncodeToString(mac.Sum(nil))}
}

// followUpsOf counts the follow-up tasks opened for a monitor task.
func followUpsOf(t *testing.T, l *ledger.Ledger, monitor string) int {
	t.Helper()
	n := 0
	for _, tk := range must(l.ListTasks(context.Background(), fairway.TaskFilter{})) {
		if strings.HasPrefix(tk.Title, "Follow-up: ") && strings.Contains(tk.Scope.Text, "Watched by "+monitor+";") {
			n++
		}
	}
	return n
}

// The same delivery reaching two replicas at once is applied by exactly
// one of them: the once-only check holds across processes, not only
// within one. Each round a new failed run is delivered to both replicas
// at the same moment; exactly one answer applies it (one terminal record
// on the watching task, one follow-up), the other is a duplicate or is
// told the delivery is being applied elsewhere.
func TestWebhook_SameDeliveryAtTwoReplicasAppliesOnce(t *testing.T) {
	for name, stores := range replicaStores {
		t.Run(name, func(t *testing.T) {
			now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
			// Each reading moves the clock a microsecond, so that the two
			// replicas stamp (and so name) what they record differently,
			// as two machines' clocks do.
			var mu sync.Mutex
			ticks := now
			one, two := webhookReplicas(t, stores, func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				ticks = ticks.Add(time.Microsecond)
				return ticks
			})
			failed, duplicates, busy := 0, 0, 0
			const rounds = 12
			for round := range rounds {
				monitor := fmt.Sprintf("OPS-CI-RACE-%03d", round)
				must(one.CreateTask(as("alice"), fairway.TaskCreate{Key: monitor, Title: "race " + strconv.Itoa(round),
					Labels: []string{"monitor", "repo/acme/race", "run/" + strconv.Itoa(1000+round)}}))
				body := fmt.Appendf(nil, `{"provider":"buildkite","repo":"acme/race","run":"%d","status":"completed","conclusion":"failure","commit":"0123abcd"}`, 1000+round)
				d := genericDelivery("race-"+strconv.Itoa(round), body, now)
				var wg sync.WaitGroup
				results := make([]*fairway.WebhookResult, 2)
				errs := make([]error, 2)
				start := make(chan struct{})
				for i, l := range []*ledger.Ledger{one, two} {
					wg.Go(func() {
						<-start
						results[i], errs[i] = l.ReceiveWebhook(as("omar"), d)
					})
				}
				close(start)
				wg.Wait()
				applied, declined := 0, 0
				for i := range 2 {
					switch {
					case errs[i] == nil && !results[i].Duplicate && len(results[i].Tasks) == 1:
						applied++
					case errs[i] == nil && results[i].Duplicate && len(results[i].Tasks) == 0:
						declined++
						duplicates++
					case fairway.ErrorCode(errs[i]) == fairway.ECONFLICT && strings.Contains(errs[i].Error(), "is being applied"):
						declined++
						busy++
					default:
						t.Errorf("round %d, replica %d: %+v %v", round, i+1, results[i], errs[i])
					}
				}
				ev := must(one.ListEvidence(context.Background(), fairway.EvidenceFilter{Task: monitor}))
				if applied != 1 || declined != 1 || len(ev) != 1 || followUpsOf(t, one, monitor) != 1 {
					failed++
					t.Errorf("round %d: %d applied, %d declined, %d terminal records, %d follow-ups; want 1, 1, 1, 1",
						round, applied, declined, len(ev), followUpsOf(t, one, monitor))
				}
			}
			t.Logf("%d rounds: the second answer was a duplicate %d times, in progress %d times", rounds, duplicates, busy)
			if failed > 0 {
				t.Errorf("%d of %d rounds applied the delivery other than once", failed, rounds)
			}
		})
	}
}

// dyingStore is a replica's store that stops answering once killed, as
// a crashed process's store does.
type dyingStore struct {
	fairway.Store
	dead atomic.Bool
}

var errCrashed = errors.New("the replica crashed")

func (s *dyingStore) View(ctx context.Context, fn func(fairway.Tx) error) error {
	if s.dead.Load() {
		return errCrashed
	}
	return s.Store.View(ctx, fn)
}

func (s *dyingStore) Update(ctx context.Context, fn func(fairway.Tx) error) error {
	if s.dead.Load() {
		return errCrashed
	}
	return s.Store.Update(ctx, fn)
}

// failingBlobs fails to stage evidence bytes from the failAt-th time
// (counting from 1; never when 0), and kills its replica's store when
// one is given: where a delivery fails, or its process dies.
type failingBlobs struct {
	fairway.BlobStore
	failAt atomic.Int32
	calls  atomic.Int32
	kill   *dyingStore
}

func (b *failingBlobs) Create(ctx context.Context) (fairway.BlobWriter, error) {
	if at := b.failAt.Load(); at == 0 || b.calls.Add(1) < at {
		return b.BlobStore.Create(ctx)
	}
	if b.kill != nil {
		b.kill.dead.Store(true)
		return nil, errCrashed
	}
	return nil, errors.New("the blob store is unreachable")
}

// webhookActions lists the actions of the audit events of a CI event,
// by its body, with their changes.
func webhookActions(t *testing.T, l *ledger.Ledger, body []byte) (actions []string, changes []map[string]any) {
	t.Helper()
	sum := sha256.Sum256(body)
	for _, e := range must(l.AuditLog(context.Background(), fairway.AuditFilter{Subject: "webhook:generic:sha256:" + hex.EncodeToString(sum[:])})) {
		var c map[string]any
		if err := json.Unmarshal(e.Change, &c); err != nil {
			t.Fatal(err)
		}
		c["seq"] = float64(e.Seq)
		actions, changes = append(actions, e.Actor+" "+e.Action), append(changes, c)
	}
	return actions, changes
}

// A replica that crashed after claiming a delivery, before its receipt,
// does not lose it (R12): while the claim's lease holds, a redelivery
// to the other replica is told the delivery is being applied (409, so
// the CI keeps it as not delivered); once the lease has ended, a
// redelivery takes the claim over and applies it once, and the audit
// log tells the story: claim, refused claim, claim taking over, receipt.
func TestWebhook_AClaimLeftByACrashIsTakenOverOnceItsLeaseEnds(t *testing.T) {
	for name, stores := range replicaStores {
		t.Run(name, func(t *testing.T) {
			start := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
			var clock atomic.Pointer[time.Time]
			clock.Store(&start)
			now := func() time.Time { return *clock.Load() }
			set := func(t time.Time) { clock.Store(&t) }
			a, b := stores(t)
			dir := t.TempDir()
			dying := &dyingStore{Store: a}
			crashing := &failingBlobs{kill: dying}
			one := webhookReplica(t, dying, dir, now, func(b fairway.BlobStore) fairway.BlobStore { crashing.BlobStore = b; return crashing })
			two := webhookReplica(t, b, dir, now, nil)
			setUp(t, two, true)
			must(two.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-CI-MONITOR-007", Title: "the nightly", Labels: []string{"monitor", "repo/acme/nightly", "run/4242"}}))
			body := []byte(`{"provider":"buildkite","repo":"acme/nightly","run":"4242","status":"completed","conclusion":"failure","commit":"0123abcd"}`)

			crashing.failAt.Store(1)
			if _, err := one.ReceiveWebhook(as("omar"), genericDelivery("nightly-1", body, now())); !errors.Is(err, errCrashed) {
				t.Fatalf("the crashing replica: %v", err)
			}
			set(start.Add(ledger.DeliveryLease - time.Second))
			_, err := two.ReceiveWebhook(as("omar"), genericDelivery("nightly-1", body, now()))
			if fairway.ErrorCode(err) != fairway.ECONFLICT || !strings.Contains(err.Error(), "is being applied by another request (delivery nightly-1, claimed by ci until 2026-11-01T10:05:00Z)") {
				t.Fatalf("a redelivery while the claim holds: %v, want a conflict naming the claim", err)
			}
			if ev := must(two.ListEvidence(context.Background(), fairway.EvidenceFilter{Task: "OPS-CI-MONITOR-007"})); len(ev) != 0 {
				t.Fatalf("%d terminal records while the claim holds", len(ev))
			}

			set(start.Add(ledger.DeliveryLease))
			res, err := two.ReceiveWebhook(as("omar"), genericDelivery("nightly-1", body, now()))
			if err != nil || res.Duplicate || len(res.Tasks) != 1 || res.Tasks[0].Status != fairway.StatusInReview || res.Tasks[0].FollowUp == "" {
				t.Fatalf("the redelivery once the lease ended: %+v %v", res, err)
			}
			res, err = two.ReceiveWebhook(as("omar"), genericDelivery("nightly-1", body, now()))
			if err != nil || !res.Duplicate {
				t.Fatalf("a redelivery after the receipt: %+v %v, want a duplicate", res, err)
			}
			if ev := must(two.ListEvidence(context.Background(), fairway.EvidenceFilter{Task: "OPS-CI-MONITOR-007"})); len(ev) != 1 || followUpsOf(t, two, "OPS-CI-MONITOR-007") != 1 {
				t.Fatalf("%d terminal records and %d follow-ups, want one each", len(ev), followUpsOf(t, two, "OPS-CI-MONITOR-007"))
			}
			actions, changes := webhookActions(t, two, body)
			if fmt.Sprint(actions) != "[ci webhook.claim ci webhook.claim.refused ci webhook.claim ci webhook.receive]" {
				t.Fatalf("audit of the event = %v", actions)
			}
			first, takeover := changes[0]["seq"], changes[2]["seq"]
			if changes[0]["until"] != "2026-11-01T10:05:00Z" || changes[1]["claim"] != first || changes[2]["takes_over"] != first || changes[3]["claim"] != takeover {
				t.Fatalf("audited changes = %v", changes)
			}
			if v := must(two.VerifyAudit(context.Background())); !v.OK {
				t.Fatalf("audit verify after the takeover: %+v", v)
			}
		})
	}
}

// A replica whose delivery fails after its claim (its blob store is
// unreachable) releases the claim, so a retry a moment later applies
// the delivery, once, instead of waiting for the lease to end.
func TestWebhook_AFailedDeliveryReleasesItsClaim(t *testing.T) {
	for name, stores := range replicaStores {
		t.Run(name, func(t *testing.T) {
			now := func() time.Time { return time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC) }
			a, b := stores(t)
			dir := t.TempDir()
			failing := &failingBlobs{}
			one := webhookReplica(t, a, dir, now, func(b fairway.BlobStore) fairway.BlobStore { failing.BlobStore = b; return failing })
			two := webhookReplica(t, b, dir, now, nil)
			setUp(t, two, true)
			must(two.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-CI-MONITOR-008", Title: "the nightly", Labels: []string{"monitor", "repo/acme/nightly", "run/4243"}}))
			body := []byte(`{"provider":"buildkite","repo":"acme/nightly","run":"4243","status":"completed","conclusion":"success","commit":"0123abcd"}`)
			failing.failAt.Store(1)
			if _, err := one.ReceiveWebhook(as("omar"), genericDelivery("nightly-2", body, now())); err == nil || !strings.Contains(err.Error(), "unreachable") {
				t.Fatalf("the failing replica: %v", err)
			}
			res, err := two.ReceiveWebhook(as("omar"), genericDelivery("nightly-2", body, now()))
			if err != nil || len(res.Tasks) != 1 || res.Tasks[0].Status != fairway.StatusInReview {
				t.Fatalf("the retry: %+v %v", res, err)
			}
			actions, changes := webhookActions(t, two, body)
			if fmt.Sprint(actions) != "[ci webhook.claim ci webhook.release ci webhook.claim ci webhook.receive]" {
				t.Fatalf("audit of the event = %v", actions)
			}
			if changes[1]["claim"] != changes[0]["seq"] || changes[1]["code"] != fairway.EINTERNAL || changes[2]["takes_over"] != nil {
				t.Fatalf("audited changes = %v", changes)
			}
			if ev := must(two.ListEvidence(context.Background(), fairway.EvidenceFilter{Task: "OPS-CI-MONITOR-008"})); len(ev) != 1 {
				t.Fatalf("%d terminal records, want 1", len(ev))
			}
		})
	}
}

// A replica that crashed halfway through a delivery, after settling some
// of the tasks watching the run, leaves its claim; the replica that takes
// it over finishes the rest and does not settle the first ones again:
// every watching task ends with one terminal record and one follow-up,
// whether its follow-up is named after the record (no lane) or takes its
// lane's next key.
func TestWebhook_ATakeoverFinishesWhatTheCrashedReplicaBegan(t *testing.T) {
	for name, stores := range replicaStores {
		t.Run(name, func(t *testing.T) {
			start := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
			var clock atomic.Pointer[time.Time]
			clock.Store(&start)
			now := func() time.Time { return *clock.Load() }
			a, b := stores(t)
			dir := t.TempDir()
			dying := &dyingStore{Store: a}
			crashing := &failingBlobs{kill: dying}
			one := webhookReplica(t, dying, dir, now, func(b fairway.BlobStore) fairway.BlobStore { crashing.BlobStore = b; return crashing })
			two := webhookReplica(t, b, dir, now, nil)
			setUp(t, two, true)
			monitors := []fairway.TaskCreate{
				{Key: "OPS-CI-MONITOR-011", Title: "no lane"},
				{Key: "OPS-FIX-011", Lane: "closeout", Title: "in a lane"},
				{Key: "OPS-FIX-012", Lane: "closeout", Title: "in a lane, settled after the crash"},
			}
			for _, c := range monitors {
				c.Labels = []string{"monitor", "repo/acme/nightly", "run/4244"}
				must(two.CreateTask(as("alice"), c))
			}
			body := []byte(`{"provider":"buildkite","repo":"acme/nightly","run":"4244","status":"completed","conclusion":"failure","commit":"0123abcd"}`)

			crashing.failAt.Store(3) // the third task's record
			if _, err := one.ReceiveWebhook(as("omar"), genericDelivery("nightly-3", body, now())); !errors.Is(err, errCrashed) {
				t.Fatalf("the crashing replica: %v", err)
			}
			for _, c := range monitors[:2] {
				if tk := must(two.GetTask(context.Background(), c.Key)); tk.Status != fairway.StatusInReview || followUpsOf(t, two, c.Key) != 1 {
					t.Fatalf("before the crash %s was not settled: %s, %d follow-ups", c.Key, tk.Status, followUpsOf(t, two, c.Key))
				}
			}
			later := start.Add(ledger.DeliveryLease)
			clock.Store(&later)
			res, err := two.ReceiveWebhook(as("omar"), genericDelivery("nightly-3", body, now()))
			if err != nil || len(res.Tasks) != 3 {
				t.Fatalf("the takeover: %+v %v", res, err)
			}
			for i, c := range monitors {
				ev := must(two.ListEvidence(context.Background(), fairway.EvidenceFilter{Task: c.Key}))
				touch := res.Tasks[i]
				if len(ev) != 1 || followUpsOf(t, two, c.Key) != 1 || touch.Task != c.Key || touch.Evidence != ev[0].ID || touch.FollowUp == "" || touch.Status != fairway.StatusInReview {
					t.Errorf("%s: %d terminal records, %d follow-ups, touch %+v; want one each, named", c.Key, len(ev), followUpsOf(t, two, c.Key), touch)
				}
			}
		})
	}
}
