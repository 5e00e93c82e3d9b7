package portal

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"fairway"
)

// view is what the layout needs around every page.
type view struct {
	Title string
	// Nav names the section the page belongs to, for the navigation bar.
	Nav   string
	Actor *fairway.Actor
	CSRF  string
	// Static is set for the published site: no forms, relative links.
	Static bool
	// Base is the relative path from the page to the site's root.
	Base  string
	Badge *Badge
	Now   time.Time
	// Subject is the task a live page follows; empty follows every change.
	Subject string
	// Refresh is a path of this site the page moves on to at once.
	Refresh string
}

// Badge is the static site's state: "current" only when its source checks
// pass and build evidence exists for the source commit it was built from.
type Badge struct {
	State  string // current or in-progress
	Reason string
	Commit string
}

// page is the data a template executes with: the view and the page's own.
type page struct {
	*view
	D any
}

// Href maps a portal path to a link: itself when served, a file of the
// static site otherwise.
func (v *view) Href(path string) string {
	if !v.Static {
		return path
	}
	return v.Base + staticPath(path)
}

// staticPath is the file a portal path is written to.
func staticPath(path string) string {
	switch {
	case path == "/":
		return "index.html"
	case strings.HasPrefix(path, "/tasks/"):
		return "tasks/" + fileSafe(strings.TrimPrefix(path, "/tasks/")) + ".html"
	case strings.HasPrefix(path, "/evidence/"):
		return "evidence/" + fileSafe(strings.ReplaceAll(strings.TrimPrefix(path, "/evidence/"), "/", "-"))
	case strings.HasPrefix(path, "/assets/"):
		return "assets/" + fileSafe(strings.TrimPrefix(path, "/assets/"))
	}
	return fileSafe(strings.TrimPrefix(path, "/")) + ".html"
}

// fileSafe keeps names of files the site writes to letters, digits, '-',
// '_' and '.', never a leading dot.
func fileSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || (c == '.' && i > 0)) {
			b[i] = '_'
		}
	}
	return string(b)
}

type errorData struct{ Message string }

// runArg is what the "run" template draws: one deploy-run on a page.
type runArg struct {
	P page
	R *fairway.DeployRun
}

// render executes a page into a buffer first, so a template error never
// sends half a page with a 200 status.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view, data any) {
	if v.Now.IsZero() {
		v.Now = p.Now().UTC()
	}
	var buf bytes.Buffer
	if err := p.execute(&buf, name, v, data); err != nil {
		p.logger.Error("portal render", "page", name, "path", r.URL.Path, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (p *Portal) execute(buf *bytes.Buffer, name string, v *view, data any) error {
	return p.pages[name].ExecuteTemplate(buf, "layout.html", page{view: v, D: data})
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"join":      func(l []string) string { return strings.Join(l, ", ") },
	"deref":     func(p *int) int { return *p },
	"runOf":     func(pg page, r *fairway.DeployRun) runArg { return runArg{P: pg, R: r} },
	"agentic":   func() [][2]string { return agenticControls },
	"hasSuffix": strings.HasSuffix,
	"isKey":     func(s string) bool { return fairway.ValidateKey("subject", s) == nil },
	"short":     shortDigest,
	"size":      humanSize,
	"visible":   visible,
	"stateClass": func(s string) string {
		return "st-" + strings.ToLower(strings.ReplaceAll(s, "_", "-"))
	},
	"statusLabel": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"reqLabel": func(s string) string {
		return strings.ToLower(strings.ReplaceAll(s, "_", " "))
	},
}

// shortDigest shows enough of a digest to tell records apart; the full
// value is in the title attribute and the download.
func shortDigest(d string) string {
	_, hex, ok := strings.Cut(d, ":")
	if !ok {
		hex = d
	}
	if len(hex) > 12 {
		return hex[:12] + "…"
	}
	return hex
}

func humanSize(n int64) string {
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n>>20, 10) + " MiB"
}

// visible makes recorded bytes safe to show: invalid UTF-8 becomes U+FFFD
// and every control character but newline and tab is shown as its
// escape (␛ for ESC), so a log cannot hide text, fake a line or reach a
// terminal that later copies it. html/template escapes the rest.
func visible(s string) string {
	if !strings.ContainsFunc(s, needsMarking) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == 0x1b:
			b.WriteString("␛")
		case r < 0x20:
			b.WriteRune(0x2400 + r) // the Control Pictures block: ␀ … ␟
		case needsMarking(r):
			b.WriteString(`\u` + hex4(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsMarking(r rune) bool {
	if r == '\n' || r == '\t' {
		return false
	}
	// Bidirectional controls reorder what is shown; tag characters and
	// interlinear annotations show nothing yet carry text an agent reads.
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) ||
		r >= 0xe0000 && r <= 0xe007f || r >= 0xfff9 && r <= 0xfffb
}

func hex4(r rune) string {
	const digits = "0123456789ABCDEF"
	b := []byte{digits[r>>12&0xf], digits[r>>8&0xf], digits[r>>4&0xf], digits[r&0xf]}
	for r >>= 16; r > 0; r >>= 4 {
		b = append([]byte{digits[r&0xf]}, b...)
	}
	return string(b)
}
