package portal

import (
	"context"
	"errors"
	fairwayhttp "fairway/http"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"fairway"
)

// page serves one signed-in page built by fn.
func (p *Portal) page(fn func(ctx context.Context, r *http.Request, v *view) (string, any, error)) http.HandlerFunc {
	return p.signedIn(func(w http.ResponseWriter, r *http.Request, c *caller) {
		v := &view{Actor: c.actor, CSRF: p.csrfToken(c.token)}
		name, data, err := fn(r.Context(), r, v)
		if err != nil {
			p.fail(w, r, v, err)
			return
		}
		p.render(w, r, http.StatusOK, name, v, data)
	})
}

// fail shows an error page: the ledger's own message for its errors,
// a generic one (logged) for anything else.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	var fe *fairway.Error
	msg := "Something went wrong reading the ledger; the server log has the details."
	status := http.StatusInternalServerError
	if errors.As(err, &fe) {
		msg = fe.Message
		status = fairwayhttp.ErrorStatus(fe.Code)
	} else {
		p.logger.Error("portal", "path", r.URL.Path, "err", err)
	}
	v.Title = http.StatusText(status)
	p.render(w, r, status, "error", v, errorData{Message: msg})
}

func (p *Portal) overview(ctx context.Context, r *http.Request, v *view) (string, any, error) {
	v.Title, v.Nav = "Shared Platform Governance", "overview"
	d, err := p.overviewData(ctx, false)
	return "overview", d, err
}

func (p *Portal) lanes(ctx context.Context, r *http.Request, v *view) (string, any, error) {
	v.Title, v.Nav = "Lanes", "lanes"
	f, err := filterFrom(r.URL.Query())
	if err != nil {
		return "", nil, err
	}
	d, err := p.lanesData(ctx, f)
	return "lanes", d, err
}

func (p *Portal) deploys(ctx context.Context, r *http.Request, v *view) (string, any, error) {
	v.Title, v.Nav = "Deploy-runs", "deploys"
	f := fairway.DeployFilter{Environment: r.URL.Query().Get("env"), Task: r.URL.Query().Get("task")}
	if f.Task != "" {
		if err := fairway.ValidateKey("task", f.Task); err != nil {
			return "", nil, err
		}
	}
	d, err := p.deploysData(ctx, f)
	return "deploys", d, err
}

func (p *Portal) uat(ctx context.Context, r *http.Request, v *view) (string, any, error) {
	v.Title, v.Nav = "UAT coverage", "uat"
	d, err := p.uatData(ctx)
	return "uat", d, err
}

func (p *Portal) task(ctx context.Context, r *http.Request, v *view) (string, any, error) {
	key := r.PathValue("key")
	if err := fairway.ValidateKey("key", key); err != nil {
		return "", nil, fairway.Errorf(fairway.ENOTFOUND, "there is no task %q", key)
	}
	v.Title, v.Nav = key, "lanes"
	d, err := p.taskData(ctx, key, v.Actor, false)
	if err != nil {
		return "", nil, err
	}
	d.Flash = flashText(r.URL.Query().Get("done"))
	v.Title, v.Subject = key+" · "+d.Task.Title, key
	return "task", d, nil
}

func (p *Portal) audit(ctx context.Context, r *http.Request, v *view) (string, any, error) {
	v.Title, v.Nav = "Audit log", "audit"
	var before int64
	if s := r.URL.Query().Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return "", nil, fairway.FieldError("before", "%q is not an event sequence number", s)
		}
		before = n
	}
	d, err := p.auditData(ctx, before)
	return "audit", d, err
}

// searchData is what the search page shows: the query and its hits.
type searchData struct {
	Query fairway.SearchQuery
	Hits  []*fairway.SearchHit
	Kinds []string
}

func (p *Portal) search(ctx context.Context, r *http.Request, v *view) (string, any, error) {
	v.Title, v.Nav = "Search", "search"
	q := r.URL.Query()
	d := &searchData{Query: fairway.SearchQuery{Text: q.Get("q"), Kind: q.Get("kind"), Lane: q.Get("lane")},
		Kinds: []string{fairway.SearchTask, fairway.SearchClaim, fairway.SearchEvidence, fairway.SearchHandoff}}
	if d.Query.Text == "" {
		return "search", d, nil
	}
	hits, err := p.svc.Search(ctx, d.Query)
	d.Hits = hits
	return "search", d, err
}

// flashes are the confirmations a redirect after a post may show; the
// query names one, so no text of the URL reaches the page.
var flashes = map[string]string{
	"approved":          "Your approval is recorded.",
	"changes_requested": "Your change request is recorded; the gate holds until it is resolved.",
	"resolved":          "The change request is resolved.",
	"waiver":            "The waiver is approved.",
}

func flashText(k string) string { return flashes[k] }

// review records a verdict from the task page under every rule the CLI
// meets: the ledger decides who may approve (R1, R2, R4, R6).
func (p *Portal) review(w http.ResponseWriter, r *http.Request, c *caller) {
	key := r.PathValue("key")
	// The snapshot is the one the page showed: a review binds what its
	// reviewer saw, and the ledger refuses it if the task moved on.
	in := fairway.ReviewAdd{Task: key, Domain: r.PostFormValue("domain"), Verdict: r.PostFormValue("verdict"), Comment: strings.TrimSpace(r.PostFormValue("comment")),
		Snapshot: r.PostFormValue("snapshot")}
	for _, line := range strings.Split(r.PostFormValue("items"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			in.Items = append(in.Items, line)
		}
	}
	if s := r.PostFormValue("resolves"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			p.taskWithError(w, r, c, key, fairway.FieldError("resolves", "%q is not a change request number", s))
			return
		}
		in.Resolves = n
	}
	if _, err := p.svc.AddReview(r.Context(), in); err != nil {
		p.taskWithError(w, r, c, key, err)
		return
	}
	http.Redirect(w, r, "/tasks/"+url.PathEscape(key)+"?done="+url.QueryEscape(in.Verdict)+"#reviews", http.StatusSeeOther)
}

func (p *Portal) approveWaiver(w http.ResponseWriter, r *http.Request, c *caller) {
	key := r.PostFormValue("task")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		p.taskWithError(w, r, c, key, fairway.FieldError("id", "%q is not a waiver number", r.PathValue("id")))
		return
	}
	wv, err := p.svc.ApproveWaiver(r.Context(), id)
	if err != nil {
		p.taskWithError(w, r, c, key, err)
		return
	}
	if wv.Task != "" {
		key = wv.Task
	}
	http.Redirect(w, r, "/tasks/"+url.PathEscape(key)+"?done=waiver#waivers", http.StatusSeeOther)
}

// taskWithError shows the task page again with why the ledger refused,
// under the refusal's status; a step-up says how to sign in again.
func (p *Portal) taskWithError(w http.ResponseWriter, r *http.Request, c *caller, key string, refusal error) {
	v := &view{Actor: c.actor, CSRF: p.csrfToken(c.token), Nav: "lanes", Title: key}
	if fairway.ValidateKey("task", key) != nil {
		p.fail(w, r, v, refusal)
		return
	}
	d, err := p.taskData(r.Context(), key, c.actor, false)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	v.Title = key + " · " + d.Task.Title
	d.Error = refusalText(refusal)
	status := http.StatusInternalServerError
	if code := fairway.ErrorCode(refusal); code != fairway.EINTERNAL {
		status = fairwayhttp.ErrorStatus(code)
	}
	p.render(w, r, status, "task", v, d)
}

func refusalText(err error) string {
	var fe *fairway.Error
	if !errors.As(err, &fe) {
		return "The ledger could not record this; the server log has the details."
	}
	if fe.Code == fairway.ESTEPUP {
		msg := "This approval needs multi-factor authentication asserted by your identity provider. Sign out, sign in again through the identity provider with a second factor"
		if fe.StepUp != nil && fe.StepUp.MaxAge > 0 {
			msg += fmt.Sprintf(" (within the last %d minutes)", fe.StepUp.MaxAge/60)
		}
		return msg + ", and approve again. The ledger said: " + fe.Message
	}
	return "Refused: " + fe.Message
}

// evidenceBytes sends a part of an evidence record: images shown inline,
// everything else as a download, never interpreted by the browser.
func (p *Portal) evidenceBytes(w http.ResponseWriter, r *http.Request, c *caller) {
	id, part := r.PathValue("id"), r.PathValue("part")
	v := &view{Actor: c.actor, CSRF: p.csrfToken(c.token)}
	e, err := p.svc.GetEvidence(r.Context(), id)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	media := "application/octet-stream"
	if part == fairway.PartContent && inlineImage(e.MediaType) {
		media = mediaBase(e.MediaType)
	}
	rc, err := p.svc.OpenEvidence(r.Context(), id, part)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", media)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if media == "application/octet-stream" {
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", downloadName(e, part)))
	}
	if _, err := io.Copy(w, rc); err != nil {
		panic(http.ErrAbortHandler) // unfinished, so never taken for the record's bytes
	}
}

func downloadName(e *fairway.Evidence, part string) string {
	name := e.ID + "-" + part
	if part == fairway.PartContent && e.Filename != "" {
		name = e.ID + "-" + fileSafe(e.Filename)
	}
	return name
}
