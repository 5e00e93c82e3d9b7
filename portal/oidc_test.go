package portal_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"fairway"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/portal"
)

// testIssuer is an OpenID provider on loopback: discovery, keys, an
// authorization endpoint that signs in a chosen person at once, and a
// token endpoint that checks the client secret, the redirect URI and the
// PKCE verifier against the challenge, as a real provider does.
type testIssuer struct {
	srv    *httptest.Server
	signer jose.Signer
	mu     sync.Mutex
	codes  map[string]grant
	// Who signs in next, and with which claims.
	User   string
	Claims map[string]any
	// Refused counts token requests that were refused.
	Refused int
}

type grant struct {
	challenge, redirect, nonce, user string
	claims                           map[string]any
}

func newTestIssuer(t *testing.T) *testIssuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss := &testIssuer{codes: map[string]grant{}}
	iss.signer, _ = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	mux := http.NewServeMux()
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": iss.srv.URL, "jwks_uri": iss.srv.URL + "/keys",
			"authorization_endpoint": iss.srv.URL + "/authorize", "token_endpoint": iss.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"}})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("response_type") != "code" || q.Get("client_id") != "fairway" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		code := base64.RawURLEncoding.EncodeToString([]byte(time.Now().String()))
		iss.mu.Lock()
		iss.codes[code] = grant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), nonce: q.Get("nonce"), user: iss.User, claims: iss.Claims}
		iss.mu.Unlock()
		u, _ := url.Parse(q.Get("redirect_uri"))
		v := url.Values{"code": {code}, "state": {q.Get("state")}}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		iss.mu.Lock()
		g, found := iss.codes[r.PostForm.Get("code")]
		delete(iss.codes, r.PostForm.Get("code")) // a code is good once
		iss.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if id != "fairway" || secret != "s3cret-client" || !found || r.PostForm.Get("redirect_uri") != g.redirect ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			iss.mu.Lock()
			iss.Refused++
			iss.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		now := time.Now()
		claims := map[string]any{"iss": iss.srv.URL, "aud": "fairway", "sub": "sub-" + g.user, "preferred_username": g.user,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "auth_time": now.Unix(), "nonce": g.nonce}
		for k, v := range g.claims {
			claims[k] = v
		}
		payload, _ := json.Marshal(claims)
		sig, _ := iss.signer.Sign(payload)
		idt, _ := sig.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + g.user, "token_type": "Bearer", "expires_in": 3600, "id_token": idt})
	})
	return iss
}

// TestOIDC_AuthorizationCodeWithPKCESignsInAndCarriesMFA: a person signs
// in through the identity provider; the session carries the provider's
// MFA posture, so a security approval (an MFA domain) records it.
func TestOIDC_AuthorizationCodeWithPKCESignsInAndCarriesMFA(t *testing.T) {
	ctx := context.Background()
	_, l, _ := demoPortal(t)
	iss := newTestIssuer(t)
	auth, err := fairwayhttp.NewOIDCAuth(ctx, fairwayhttp.OIDCConfig{Issuer: iss.srv.URL, Audience: "fairway", GroupsClaim: "groups"},
		l.ActorForIdentity, ledger.TokenAuth{L: l})
	if err != nil {
		t.Fatal(err)
	}
	// sergei's identity is bound to him by a human before he signs in.
	if _, err := l.BindIdentity(as("olivia"), "sergei", iss.srv.URL, "sub-sergei"); err != nil {
		t.Fatal(err)
	}
	p := portal.New(l, auth, []byte("test key"), nil)
	if p.OIDC, err = portal.NewOIDCLogin(ctx, iss.srv.URL, "fairway", "s3cret-client"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}

	// The sign-in page offers the provider.
	_, body := get(t, c, srv.URL+"/signin?next=/tasks/OPS-EDGE-TUNNEL-001")
	if !strings.Contains(body, `href="/oidc/start?next=%2ftasks%2fOPS-EDGE-TUNNEL-001"`) {
		t.Fatalf("sign-in page does not offer the identity provider:\n%s", excerpt(body))
	}
	iss.User, iss.Claims = "sergei", map[string]any{"amr": []string{"pwd", "hwk"}, "groups": []string{"security"}}
	_, body = get(t, c, srv.URL+"/oidc/start?next=/tasks/OPS-EDGE-TUNNEL-001")
	if !strings.Contains(body, `content="0;url=/tasks/OPS-EDGE-TUNNEL-001"`) {
		t.Fatalf("after the callback:\n%s", excerpt(body))
	}
	for _, ck := range jar.Cookies(mustURL(srv.URL + "/")) {
		if ck.Name == "fairway_session" && strings.Count(ck.Value, ".") != 2 {
			t.Fatalf("the session is not the ID token: %q", ck.Value)
		}
	}
	_, page := get(t, c, srv.URL+"/tasks/OPS-EDGE-TUNNEL-001")
	if !strings.Contains(page, "Signed in as <b>sergei</b> (human)") || !strings.Contains(page, `aria-label="Approve for security"`) {
		t.Fatalf("signed-in task page:\n%s", excerpt(page))
	}
	csrf := hidden(t, page, "csrf")
	for _, form := range []url.Values{
		{"csrf": {csrf}, "domain": {"security"}, "verdict": {"resolved"}, "resolves": {"1"}},
		{"csrf": {csrf}, "domain": {"security"}, "verdict": {"approved"}},
	} {
		res, err := c.PostForm(srv.URL+"/tasks/OPS-EDGE-TUNNEL-001/reviews", form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	rs, _ := l.ListReviews(ctx, "OPS-EDGE-TUNNEL-001")
	last := rs[len(rs)-1]
	if len(rs) != 3 || last.Reviewer != "sergei" || last.Verdict != fairway.VerdictApproved || last.MFA == nil || !last.MFA.MFA || last.MFA.Source != "oidc" {
		t.Fatalf("reviews after signing in through the provider = %d, last %+v (MFA %+v)", len(rs), last, last.MFA)
	}

	// A code brought back to a browser that did not start the sign-in,
	// or with another state, is refused before any exchange, and the
	// portal signs no one in.
	jar2, _ := cookiejar.New(nil)
	c2 := &http.Client{Jar: jar2, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c2.Get(srv.URL + "/oidc/start")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	authURL := res.Header.Get("Location")
	res, err = c2.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cb := res.Header.Get("Location")
	// Another browser (no flight cookie) brings the code back: refused
	// before any exchange.
	res, err = (&http.Client{}).Get(cb)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "did not start here") {
		t.Fatalf("callback without its sign-in: %d\n%s", res.StatusCode, excerpt(string(b)))
	}
	// A state that differs is refused.
	u := mustURL(cb)
	q := u.Query()
	q.Set("state", "forged")
	u.RawQuery = q.Encode()
	res, err = c2.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "state differs") {
		t.Fatalf("forged state: %d\n%s", res.StatusCode, excerpt(string(b)))
	}
	if iss.Refused != 0 {
		t.Errorf("the provider refused %d exchanges: the portal's PKCE verifier or redirect did not match", iss.Refused)
	}
	for _, ck := range c2.Jar.Cookies(mustURL(srv.URL + "/")) {
		if ck.Name == "fairway_session" {
			t.Fatalf("a refused callback set a session")
		}
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
