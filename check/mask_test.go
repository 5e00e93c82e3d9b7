package check

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"
)

// maskSamples are texts at the edges of the builtin expressions: word
// boundaries, partial and over-long runs, offsets with and without a
// colon, units that are prefixes of words, multi-byte and invalid UTF-8.
var maskSamples = []string{
	"", "x", "2026-11-30T05:01:07Z", "2026-11-30 05:01:07.123456789+05:30 and 2026-11-30T05:01:07-0800",
	"12026-11-30T05:01:07.Z", "2026-11-30T05:01:07+05:3", "2026-11-30T05:01:07+05:", "2026-11-30T05:01:07+5", "2026-11-30T05:01:07.5+05:30x",
	"2026-11-30X05:01:07", "2026-11-30T05:01:0", "took 15ms, then 1.5s and 3m and 2h; 7µs 9us 4ns", "5min 10msx x10ms 1.5.3ms v1.5ms 3.ms 2..5s",
	"é5ms 5msé 5ms_ _5ms \xff5ms 5s\xff 0.25h 12m3s", "00000001-0000-4000-8000-00000000000a", "x00000001-0000-4000-8000-00000000000a",
	"00000001-0000-4000-8000-00000000000ab", "-00000001-0000-4000-8000-00000000000A-", "0000000g-0000-4000-8000-00000000000a",
	"0123456789abcdef", "0123456789abcde", "0123456789ABCDEF0123", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", "sha256:0123456789abcdef0123456789abcdefg", "{\"id\":\"0123456789abcdef01\"}",
	`{"path":"/v1/p/17","ok":true,"at":"2026-11-30T05:09:14.123456789Z","request":"00003039-0000-4000-8000-000000003039","took":"8ms"}`,
}

// randomMaskText draws text from the characters the builtin expressions
// care about, with whole matches mixed in.
func randomMaskText(r *rand.Rand) []byte {
	const alphabet = "0123456789abcdefABCDEFgxz_-:.T Z+nusmhµé\xff\n"
	pieces := []string{"2026-11-30T05:01:07", ".123", "+05:30", "-0800", "Z", "00000001-0000-4000-8000-00000000000a", "0123456789abcdef", "15ms", "1.5s", "µs"}
	var b []byte
	for n := r.IntN(12); n > 0; n-- {
		if r.IntN(3) == 0 {
			b = append(b, pieces[r.IntN(len(pieces))]...)
			continue
		}
		for k := r.IntN(8); k >= 0; k-- {
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
	}
	return b
}

func checkBuiltinAgrees(t testing.TB, name string, text []byte) {
	re := regexp.MustCompile(Builtins[name])
	as := []byte("<" + name + ">")
	want := re.ReplaceAllLiteral(text, as)
	got := replaceAll(bytes.Clone(text), builtinMatchers[name], builtinStarts[name], as)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s on %q:\n got  %q\n want %q", name, text, got, want)
	}
}

// Each builtin's matcher replaces exactly what its expression does, on
// edge cases and on a million random texts.
func TestBuiltinMatchers_AgreeWithTheirExpressions(t *testing.T) {
	if len(builtinMatchers) != len(Builtins) || len(builtinStarts) != len(Builtins) {
		t.Fatalf("%d matchers for %d builtins", len(builtinMatchers), len(Builtins))
	}
	r := rand.New(rand.NewPCG(1, 2))
	n := 40000
	if testing.Short() {
		n = 4000
	}
	for name := range Builtins {
		for _, s := range maskSamples {
			checkBuiltinAgrees(t, name, []byte(s))
		}
		for range n {
			checkBuiltinAgrees(t, name, randomMaskText(r))
		}
	}
}

func FuzzBuiltinMatchers(f *testing.F) {
	for _, s := range maskSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		for name := range Builtins {
			checkBuiltinAgrees(t, name, text)
		}
	})
}

// A suite's masks, builtin or not, apply in order, each to what the one
// before left: a pattern mask sees the builtins' replacements.
func TestNormalise_MasksApplyInOrder(t *testing.T) {
	s, err := Load("s.yaml", []byte("name: s\ncoverage: [a]\nmasks:\n  - builtin: durations\n  - pattern: '<durations> later'\n    as: LATER\n  - builtin: hex-ids\nchecks:\n  - name: c\n    command: [\"true\"]\n    covers: [a]\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := string(s.Normalise([]byte("done 15ms later; id 0123456789abcdef01; 2s")))
	if want := "done LATER; id <hex-ids>; <durations>"; got != want {
		t.Fatalf("Normalise = %q, want %q", got, want)
	}
}

// Checks of one timeout that start close together share a context whose
// deadline is no sooner than each one's timeout and at most 1/64 of it
// later; one that starts later gets its own; a context no check uses or
// can share any more is cancelled, and every one is when the run ends.
func TestTimeouts_SharedDeadlinesNeverCutACheckShort(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	ts := &timeouts{parent: parent, shared: map[time.Duration]*sharedTimeout{}}
	const hour = time.Hour
	t0 := time.Now()
	a, releaseA := ts.get(hour)
	b, releaseB := ts.get(hour)
	t1 := time.Now()
	if a != b {
		t.Fatal("two checks of the same timeout starting together got two contexts")
	}
	d, ok := a.Deadline()
	// b started at the latest at t1 and a at the earliest at t0: each
	// is bounded no sooner than its hour and at most 1/64 of it later.
	if !ok || d.Before(t1.Add(hour)) || d.After(t1.Add(hour+hour/64)) || d.Sub(t0) > hour+hour/64+t1.Sub(t0) {
		t.Fatalf("deadline %s: want between %s and %s", d, t1.Add(hour), t1.Add(hour+hour/64))
	}
	other, releaseOther := ts.get(2 * hour)
	if other == a {
		t.Fatal("checks of different timeouts share a context")
	}
	releaseA()
	releaseB()
	if a.Err() != nil {
		t.Fatalf("context cancelled while later checks may still share it: %v", a.Err())
	}

	// A short timeout whose sharing window has passed: a new context,
	// and the old one is cancelled when its last check is done.
	short := 64 * time.Microsecond
	s1, release1 := ts.get(short)
	time.Sleep(time.Millisecond)
	s2, release2 := ts.get(short)
	if s1 == s2 {
		t.Fatal("a check starting after the sharing window got the old context")
	}
	release1()
	if !errors.Is(s1.Err(), context.Canceled) && !errors.Is(s1.Err(), context.DeadlineExceeded) {
		t.Fatalf("old context after its last check: %v", s1.Err())
	}
	release2()
	releaseOther()
	ts.stop()
	if a.Err() == nil || other.Err() == nil {
		t.Fatal("contexts left running after the run")
	}
}
