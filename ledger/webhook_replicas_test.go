package ledger_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
	replica := func(s fairway.Store) *ledger.Ledger {
		blobs, err := blob.NewFileStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		l := ledger.New(s, blobs)
		l.Now = now
		l.Getenv = func(k string) string {
			return map[string]string{"FAIRWAY_GITHUB_WEBHOOK_SECRET": "It's a Secret to Everybody", "FAIRWAY_CI_WEBHOOK_SECRET": "generic-s3cret"}[k]
		}
		return l
	}
	one, two := replica(a), replica(b)
	setUp(t, one, true)
	return one, two
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
