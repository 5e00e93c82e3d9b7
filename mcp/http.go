package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"fairway"
)

// Authenticator maps a bearer token to an actor and what the token says
// about them: the same as the JSON API's (ledger.TokenAuth, or OIDC).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*fairway.Actor, *fairway.Auth, error)
}

// identity is who a request's credential names, carried from the HTTP
// request to the tool call in the SDK's token info.
type identity struct {
	actor *fairway.Actor
	auth  *fairway.Auth
}

const identityKey = "fairway.identity"

func identityOf(extra *sdk.RequestExtra) *identity {
	if extra == nil || extra.TokenInfo == nil {
		return nil
	}
	id, _ := extra.TokenInfo.Extra[identityKey].(*identity)
	return id
}

// HTTPHandler serves MCP over streamable HTTP (mounted at /mcp by
// `fairway serve`). Every request must carry a bearer token, checked by
// authn exactly like the JSON API's; each tool call acts as that token's
// actor (a session credential fences itself). An MCP session belongs to
// the actor that opened it: another credential cannot use it.
func HTTPHandler(svc fairway.Service, authn Authenticator) http.Handler {
	s := NewRemoteServer(svc)
	verify := func(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		actor, au, err := authn.Authenticate(ctx, token)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", auth.ErrInvalidToken, fairway.ErrorMessage(err))
		}
		if au == nil {
			au = &fairway.Auth{}
		}
		user := actor.Name
		if au.Session != "" {
			user += "/" + au.Session
		}
		// Checked on every request: the expiry only bounds this one.
		return &auth.TokenInfo{UserID: user, Expiration: time.Now().Add(time.Minute),
			Extra: map[string]any{identityKey: &identity{actor: actor, auth: au}}}, nil
	}
	inner := auth.RequireBearerToken(verify, nil)(s.httpHandler())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fairway"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"error": fairway.Errorf(fairway.EUNAUTHORIZED,
				"a bearer token is required: send `Authorization: Bearer TOKEN` (an agent's token, or a session credential from `fairway session attach`)")})
			return
		}
		inner.ServeHTTP(w, r)
	})
}
