package provider_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fairway/provider"
)

func seenString(list []provider.Seen) string {
	var out []string
	for _, s := range list {
		out = append(out, s.Source+"|"+s.Detail+"|"+s.ProviderSession)
	}
	return strings.Join(out, "\n")
}

// The monitor's decisions follow the clock it is given: output still for
// Stable on a question is asked-for-input, on a prompt waiting, else
// still; no output for Idle is idle; each once per stretch. Session ids
// printed are reported once each, also when a write splits one.
func TestMonitor_ObservesOnTheGivenClock(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	m := provider.NewMonitor(t0, 5*time.Second, time.Minute)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	var got []provider.Seen
	got = append(got, m.Write(at(0), []byte("\x1b[1mfake agent\x1b[0m\r\nsession id: 0199A213-81c0-7800-8aa1-bbab2a03"))...)
	got = append(got, m.Write(at(time.Second), []byte("5a53\r\n⠋ thinking\r⠙ thinking\r"))...)
	got = append(got, m.Tick(at(5*time.Second))...) // 4s still: nothing
	got = append(got, m.Tick(at(6*time.Second))...) // 5s: still, spinner's last frame
	got = append(got, m.Tick(at(7*time.Second))...) // reported once
	got = append(got, m.Write(at(8*time.Second), []byte("\r\nresumed: session id: 0199a213-81c0-7800-8aa1-bbab2a035a53\r\nsession_id=1b4e28ba-2fa1-11d2-883f-0016d3cca427\r\nrun the tests? [y/N] "))...)
	got = append(got, m.Tick(at(13*time.Second))...)
	got = append(got, m.Write(at(14*time.Second), []byte("y\r\n$ "))...)
	got = append(got, m.Tick(at(19*time.Second))...)
	got = append(got, m.Tick(at(74*time.Second))...)
	got = append(got, m.Tick(at(200*time.Second))...)
	want := strings.Join([]string{
		"output|provider session id 0199a213-81c0-7800-8aa1-bbab2a035a53 printed|0199a213-81c0-7800-8aa1-bbab2a035a53",
		"screen-stable|output unchanged for 5s; last line: ⠙ thinking|",
		"output|provider session id 1b4e28ba-2fa1-11d2-883f-0016d3cca427 printed|1b4e28ba-2fa1-11d2-883f-0016d3cca427",
		"asked-for-input|run the tests? [y/N]|",
		"waiting-at-prompt|$|",
		"idle|no output for 1m0s|",
	}, "\n")
	if s := seenString(got); s != want {
		t.Fatalf("observations:\n%s\nwant:\n%s", s, want)
	}
}

func TestLastLine_AsATerminalShowsIt(t *testing.T) {
	for in, want := range map[string]string{
		"a\nb\n\n":                         "b",
		"\x1b]0;title\x07prompt> ":         "prompt>",
		"50%\r75%\r100%\r\n":               "100%",
		"x\r\n\x1b[2K\x1b[1Gnext? ":        "next?",
		strings.Repeat("é", 400):           strings.Repeat("é", 150) + "…",
		fmt.Sprint("done\r", "          "): "done",
	} {
		if got := provider.LastLine([]byte(in)); got != want {
			t.Errorf("LastLine(%q) = %q, want %q", in, got, want)
		}
	}
}
