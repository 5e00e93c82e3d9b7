package provider

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"fairway"
)

// Seen is one thing a Monitor noticed, as a session observation: its
// source, a detail line, and a provider session id when one was printed.
type Seen struct {
	Source          string
	Detail          string
	ProviderSession string
}

// Monitor turns a process's terminal output and the passing of time into
// observations: a provider session id printed (a new one may appear
// mid-run, as a resumed conversation prints), output that stopped
// changing (waiting at a prompt, asked for input, or just still), and no
// output for too long. Time is passed in, never read, so a test drives
// it with its own clock.
type Monitor struct {
	// Stable is how long output must stay unchanged to be reported as
	// still: waiting at a prompt, asked for input, or screen stable.
	Stable time.Duration
	// Idle is how long without any output is reported as idle.
	Idle time.Duration

	last           time.Time
	tail           []byte
	ids            map[string]bool
	reportedStable bool
	reportedIdle   bool
}

// tailBytes is how much recent output the monitor keeps to read the
// last line and find session ids split across writes.
const tailBytes = 8 << 10

// NewMonitor starts watching at start.
func NewMonitor(start time.Time, stable, idle time.Duration) *Monitor {
	return &Monitor{Stable: stable, Idle: idle, last: start, ids: map[string]bool{}}
}

// sessionIDRE finds a provider session id announced in output, as the
// agents print it ("session id: 0199a213-…", "Session ID=…", a resume
// hint "--resume 0199a213-…").
var sessionIDRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(?:\bsession[ _-]?id\b["']?\s*[:=]\s*["']?|--resume[ =])([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b`)
}) // compiled on first use

// askRE matches a last line that asks the user a question.
var askRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(?:\?|\[[yY]/[nN]\]|\([yY]/[nN]\)|press enter[^\n]*)\s*$`)
}) // compiled on first use

// shellPromptRE matches a last line that is a shell or REPL prompt.
var shellPromptRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[$#>%❯:]\s*$`) }) // compiled on first use

// Write takes output the process wrote at now and returns what it
// announced: each provider session id not seen before, once.
func (m *Monitor) Write(now time.Time, p []byte) []Seen {
	if len(p) == 0 {
		return nil
	}
	m.last, m.reportedStable, m.reportedIdle = now, false, false
	// The id may straddle two writes: search the kept tail with the new
	// bytes, and keep only ids not reported yet.
	start := max(len(m.tail)-100, 0)
	m.tail = append(m.tail, p...)
	if len(m.tail) > tailBytes {
		m.tail = append(m.tail[:0], m.tail[len(m.tail)-tailBytes:]...)
		start = 0
	}
	var out []Seen
	for _, match := range sessionIDRE().FindAllSubmatch(m.tail[min(start, len(m.tail)):], -1) {
		id := strings.ToLower(string(match[1]))
		if m.ids[id] {
			continue
		}
		m.ids[id] = true
		out = append(out, Seen{Source: fairway.SourceOutput, Detail: "provider session id " + id + " printed", ProviderSession: id})
	}
	return out
}

// Tick reports what the passing of time at now shows: output that
// stayed still for Stable (once per stretch of stillness), and no
// output at all for Idle (once too).
func (m *Monitor) Tick(now time.Time) []Seen {
	var out []Seen
	quiet := now.Sub(m.last)
	if m.Stable > 0 && quiet >= m.Stable && !m.reportedStable && len(m.tail) > 0 {
		m.reportedStable = true
		line := LastLine(m.tail)
		switch {
		case askRE().MatchString(line):
			out = append(out, Seen{Source: fairway.SourceAskedInput, Detail: line})
		case shellPromptRE().MatchString(line):
			out = append(out, Seen{Source: fairway.SourceWaiting, Detail: line})
		default:
			out = append(out, Seen{Source: fairway.SourceScreenStable, Detail: fmt.Sprintf("output unchanged for %s; last line: %s", m.Stable, line)})
		}
	}
	if m.Idle > 0 && quiet >= m.Idle && !m.reportedIdle {
		m.reportedIdle = true
		out = append(out, Seen{Source: fairway.SourceIdle, Detail: fmt.Sprintf("no output for %s", quiet.Round(time.Second))})
	}
	return out
}

// escapeRE matches terminal control sequences: CSI, OSC and two-byte
// escapes.
var escapeRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]`)
}) // compiled on first use

// LastLine is the last non-empty line of terminal output as a terminal
// would show it: control sequences removed, and a carriage return
// starting the line over (as spinners redraw it).
func LastLine(out []byte) string {
	s := escapeRE().ReplaceAllString(string(out), "")
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		// A carriage return redraws the line: what follows the last one
		// that has text after it is what shows.
		parts := strings.Split(l, "\r")
		for j := len(parts) - 1; j >= 0; j-- {
			if t := strings.TrimSpace(strings.Map(printable, parts[j])); t != "" {
				return clipLine(t)
			}
		}
	}
	return ""
}

func printable(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return -1
	}
	return r
}

func clipLine(s string) string {
	if len(s) <= 300 {
		return s
	}
	cut := 300
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xc0 != 0x80 }
