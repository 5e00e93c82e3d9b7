package portal

import "testing"

// Where sign-in sends a person next stays on this site. A browser drops
// ASCII tabs and newlines from a URL before reading it, so "/<TAB>/evil"
// is "//evil", another site; such a next sends them to / instead.
func TestSafeNext_StaysOnThisSite(t *testing.T) {
	for next, want := range map[string]string{
		"/tasks/OPS-1?x=1#reviews": "/tasks/OPS-1?x=1#reviews",
		"/":                        "/",
		"":                         "/",
		"//evil.example/":          "/",
		"https://evil.example/":    "/",
		"/\\evil.example/":         "/",
		"/\t/evil.example/":        "/",
		"/\n/evil.example/":        "/",
		"/\r/evil.example/":        "/",
		"\t//evil.example/":        "/",
		"/\x00/evil.example/":      "/",
		"/\x7f/evil.example/":      "/",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
