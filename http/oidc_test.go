package http_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"fairway"
	"fairway/blob"
	"fairway/demo"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/sqlite"
)

// issuer is a real OIDC issuer on loopback: discovery, JWKS, and a
// signing key, so tokens go through the same verification as in
// production.
type issuer struct {
	srv    *httptest.Server
	key    *rsa.PrivateKey
	signer jose.Signer
}

func newIssuer(t *testing.T) *issuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss := &issuer{key: key}
	mux := http.NewServeMux()
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss.srv.URL, "jwks_uri": iss.srv.URL + "/keys",
			"authorization_endpoint": iss.srv.URL + "/auth", "token_endpoint": iss.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	iss.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func (iss *issuer) token(t *testing.T, claims map[string]any) string {
	now := time.Now()
	base := map[string]any{"iss": iss.srv.URL, "aud": "fairway", "sub": "u-1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "auth_time": now.Unix()}
	if name, ok := claims["preferred_username"].(string); ok {
		base["sub"] = "sub-" + name // each person has their own subject
	}
	for k, v := range claims {
		base[k] = v
	}
	payload, _ := json.Marshal(base)
	sig, err := iss.signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sig.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOIDC_IdentityAndMFAPosture(t *testing.T) {
	ctx := context.Background()
	iss := newIssuer(t)
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "f.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	blobs, _ := blob.NewFileStore(filepath.Join(dir, "blobs"))
	l := ledger.New(store, blobs)
	l.StepUpACR = []string{"urn:example:loa:mfa"}
	l.MFAMaxAge = 15 * time.Minute
	admin, _ := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: "human"})
	as := fairway.NewContextWithActor(ctx, admin.Actor)
	for _, name := range []string{"sana", "sam", "olivia", "grace"} {
		if _, err := l.CreateActor(as, fairway.ActorCreate{Name: name, Kind: "human"}); err != nil {
			t.Fatal(err)
		}
	}
	// A human binds each person's identity; grace's is not bound.
	for _, name := range []string{"sana", "sam", "olivia"} {
		if _, err := l.BindIdentity(as, name, iss.srv.URL, "sub-"+name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.BootstrapPolicy(as, "governance.yaml", demo.Policy); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateTask(as, fairway.TaskCreate{Key: "SEC-1", Title: "rotate step-ca intermediate", ReviewDomains: []string{"security"}}); err != nil {
		t.Fatal(err)
	}
	auth, err := fairwayhttp.NewOIDCAuth(ctx, fairwayhttp.OIDCConfig{Issuer: iss.srv.URL, Audience: "fairway", MaxAge: 15 * time.Minute},
		l.ActorForIdentity, ledger.TokenAuth{L: l})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fairwayhttp.NewServer(l, auth, nil))
	defer srv.Close()

	approve := func(token string) (int, http.Header, map[string]any) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/tasks/SEC-1/reviews", strings.NewReader(`{"domain":"security","verdict":"approved"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, resp.Header, body
	}
	code := func(body map[string]any) string {
		e, _ := body["error"].(map[string]any)
		c, _ := e["code"].(string)
		return c
	}
	now := time.Now()
	cases := []struct {
		name      string
		claims    map[string]any
		status    int
		code      string
		challenge string
	}{
		{"expired", map[string]any{"preferred_username": "sana", "amr": []string{"pwd", "otp"}, "exp": now.Add(-time.Minute).Unix()}, 401, "unauthorized", ""},
		{"wrong audience", map[string]any{"preferred_username": "sana", "amr": []string{"pwd", "otp"}, "aud": "someone-else"}, 401, "unauthorized", ""},
		{"unknown actor", map[string]any{"preferred_username": "mallory", "amr": []string{"otp"}}, 401, "unauthorized", ""},
		{"no second factor", map[string]any{"preferred_username": "sana", "amr": []string{"pwd"}}, 401, "step_up_required",
			`Bearer error="insufficient_user_authentication"`},
		{"stale auth_time", map[string]any{"preferred_username": "sana", "amr": []string{"pwd", "otp"}, "auth_time": now.Add(-time.Hour).Unix()}, 401, "step_up_required",
			`acr_values="urn:example:loa:mfa", max_age=900`},
		{"not a member", map[string]any{"preferred_username": "olivia", "amr": []string{"pwd", "otp"}}, 403, "forbidden", ""},
		// sana is bound to sub-sana; a token of another subject carrying
		// her username is not her.
		{"borrowed username", map[string]any{"preferred_username": "sana", "sub": "sub-mallory", "groups": []string{"security"}, "amr": []string{"pwd", "otp"}}, 401, "unauthorized", ""},
		// grace is bound to no identity: a first sign-in naming her does
		// not make her, whoever picked the name.
		{"an unbound actor's name", map[string]any{"preferred_username": "grace", "sub": "sub-mallory", "groups": []string{"security"}, "amr": []string{"pwd", "otp"}}, 401, "unauthorized", ""},
		{"auth_time in the future", map[string]any{"preferred_username": "sana", "amr": []string{"pwd", "otp"}, "auth_time": now.Add(time.Hour).Unix()}, 401, "unauthorized", ""},
	}
	for _, c := range cases {
		status, hdr, body := approve(iss.token(t, c.claims))
		if status != c.status || code(body) != c.code {
			t.Errorf("%s: %d %v, want %d %s", c.name, status, body, c.status, c.code)
			continue
		}
		if c.challenge != "" && !strings.Contains(hdr.Get("WWW-Authenticate"), c.challenge) {
			t.Errorf("%s: WWW-Authenticate %q lacks %q", c.name, hdr.Get("WWW-Authenticate"), c.challenge)
		}
	}
	if rv, _ := l.ListReviews(ctx, "SEC-1"); len(rv) != 0 {
		t.Fatalf("refused approvals were recorded: %+v", rv)
	}
	if a, _ := l.GetActor(ctx, "sana"); a.Subject != "sub-sana" || a.Issuer != iss.srv.URL {
		t.Fatalf("sana bound to %q %q, want sub-sana at the issuer", a.Issuer, a.Subject)
	}
	if a, _ := l.GetActor(ctx, "grace"); a.Subject != "" || a.Issuer != "" {
		t.Fatalf("grace bound to %q %q by a sign-in naming her, want unbound", a.Issuer, a.Subject)
	}
	// sam is in no policy group, but the identity provider puts him in
	// security; his fresh MFA approval is recorded with its posture.
	status, _, body := approve(iss.token(t, map[string]any{"preferred_username": "sam", "groups": []string{"security"}, "amr": []string{"pwd", "hwk"}}))
	if status != 201 {
		t.Fatalf("approval with MFA: %d %v", status, body)
	}
	mfa, _ := body["mfa"].(map[string]any)
	if mfa["mfa"] != true || mfa["source"] != "oidc" || body["reviewer"] != "sam" {
		t.Fatalf("recorded review = %v", body)
	}
	d, err := l.ExplainGate(ctx, "SEC-1")
	if err != nil || !d.Pass {
		t.Fatalf("gate after MFA approval = %+v %v", d, err)
	}
	// Fairway's own tokens still work beside OIDC.
	tok, _ := l.CreateActor(as, fairway.ActorCreate{Name: "codex", Kind: "agent", IssueToken: true})
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("fairway token beside OIDC: %v %v", resp.Status, err)
	}
	resp.Body.Close()
}

// A credential issued by a request made with an identity token expires no
// later than that token, as one issued with an expiring Fairway token
// does: a short sign-in at the identity provider cannot mint a lasting
// agent token or session credential.
func TestOIDC_ACredentialItIssuesExpiresWithTheIdentityToken(t *testing.T) {
	ctx := context.Background()
	iss := newIssuer(t)
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "f.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	blobs, _ := blob.NewFileStore(filepath.Join(dir, "blobs"))
	l := ledger.New(store, blobs)
	admin, _ := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: "human"})
	as := fairway.NewContextWithActor(ctx, admin.Actor)
	for _, a := range []fairway.ActorCreate{{Name: "sana", Kind: "human"}, {Name: "codex", Kind: "agent"}} {
		if _, err := l.CreateActor(as, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.CreateTask(as, fairway.TaskCreate{Key: "SEC-2", Title: "rotate"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.BindIdentity(as, "sana", iss.srv.URL, "sub-sana"); err != nil {
		t.Fatal(err)
	}
	auth, err := fairwayhttp.NewOIDCAuth(ctx, fairwayhttp.OIDCConfig{Issuer: iss.srv.URL, Audience: "fairway"}, l.ActorForIdentity, ledger.TokenAuth{L: l})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fairwayhttp.NewServer(l, auth, nil))
	defer srv.Close()
	exp := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	idToken := iss.token(t, map[string]any{"preferred_username": "sana", "exp": exp.Unix()})
	post := func(path, body string, out any) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+idToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			var e map[string]any
			json.NewDecoder(resp.Body).Decode(&e)
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, e)
		}
		json.NewDecoder(resp.Body).Decode(out)
	}
	var rotated fairway.ActorCreated
	post("/api/v1/actors/codex/token", "", &rotated)
	if !rotated.TokenExpiresAt.Equal(exp) {
		t.Fatalf("codex's token issued with sana's identity token expires at %v, want %v (the identity token's expiry)", rotated.TokenExpiresAt, exp)
	}
	var attached fairway.AttachedSession
	post("/api/v1/sessions", `{"task":"SEC-2","provider":"browser"}`, &attached)
	if !attached.Session.CredentialExpiresAt.Equal(exp) {
		t.Fatalf("the session credential sana's identity token attached expires at %v, want %v", attached.Session.CredentialExpiresAt, exp)
	}
	// Signing out of that sign-in ends the token it issued.
	if _, err := l.Authenticate(ctx, rotated.Token); err != nil {
		t.Fatal(err)
	}
	if err := l.SignOut(ctx, idToken); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Authenticate(ctx, rotated.Token); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("codex's token issued with sana's identity token, after her sign-out: %v, want EUNAUTHORIZED", err)
	}
}
