package fairway

import (
	"context"
	"time"
)

// Actor kinds. Kind decides authority: only humans approve, close or cancel.
const (
	KindHuman   = "human"
	KindAgent   = "agent"
	KindService = "service"
)

// Actor is a human, an agent or a service that acts on the ledger.
type Actor struct {
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	DisplayName string    `json:"display_name,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by,omitempty"`
	// DisabledAt is set when a human disabled the actor: its tokens and
	// sessions stop working at once.
	DisabledAt     time.Time `json:"disabled_at,omitzero"`
	DisabledBy     string    `json:"disabled_by,omitempty"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	// Issuer and Subject bind the actor to one identity at the identity
	// provider (OIDC iss and sub), set the first time it signs in.
	Issuer  string `json:"oidc_issuer,omitempty"`
	Subject string `json:"oidc_subject,omitempty"`
}

// Disabled reports whether the actor was disabled.
func (a *Actor) Disabled() bool { return a != nil && !a.DisabledAt.IsZero() }

// IsHuman reports whether the actor is a human.
func (a *Actor) IsHuman() bool { return a != nil && a.Kind == KindHuman }

// ActorCreate is the input to create an actor.
type ActorCreate struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	DisplayName string `json:"display_name,omitempty"`
	// IssueToken asks for a bearer token for server mode. The token is
	// returned once and only its hash is stored.
	IssueToken bool `json:"issue_token,omitempty"`
}

// ActorCreated is the result of creating an actor: the actor, and the token
// when one was asked for.
type ActorCreated struct {
	Actor *Actor `json:"actor"`
	Token string `json:"token,omitempty"`
	// TokenExpiresAt is when the token stops working; zero for never.
	TokenExpiresAt time.Time `json:"token_expires_at,omitzero"`
}

// Bounds of a token's life, when one is asked for: long enough to use,
// short enough that an expiry still means something.
const (
	MinTokenTTL = 5 * time.Minute
	MaxTokenTTL = 366 * 24 * time.Hour
)

// CheckTokenTTL refuses a token life outside the bounds; 0 (never) is
// allowed.
func CheckTokenTTL(ttl time.Duration) error {
	if ttl != 0 && (ttl < MinTokenTTL || ttl > MaxTokenTTL) {
		return FieldError("ttl", "%s is not a token's life: give between %s and %s (366 days), such as 720h, or 0 for a token that does not expire", ttl, MinTokenTTL, MaxTokenTTL)
	}
	return nil
}

var actorNameRE = lazyRegexp(`^[a-z][a-z0-9._-]{0,62}$`)

// Validate checks the input fields.
func (c *ActorCreate) Validate() error {
	if !actorNameRE().MatchString(c.Name) {
		return FieldError("name", "%q is not a valid actor name: use 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter", c.Name)
	}
	switch c.Kind {
	case KindHuman, KindAgent, KindService:
	case "":
		return FieldError("kind", "is required: one of human, agent, service")
	default:
		return FieldError("kind", "%q is not an actor kind: use human, agent or service", c.Kind)
	}
	return CheckLine("display_name", c.DisplayName, 200)
}

// ActorService manages actors and their credentials.
type ActorService interface {
	CreateActor(ctx context.Context, c ActorCreate) (*ActorCreated, error)
	GetActor(ctx context.Context, name string) (*Actor, error)
	ListActors(ctx context.Context) ([]*Actor, error)
	// Whoami returns the actor the request is made as.
	Whoami(ctx context.Context) (*Actor, error)
	// DisableActor stops an actor: its tokens and sessions are refused
	// from then on. Humans only.
	DisableActor(ctx context.Context, name, reason string) (*Actor, error)
	// RotateToken revokes every token of an actor and issues a new one,
	// which expires after ttl, or never when ttl is 0.
	RotateToken(ctx context.Context, name string, ttl time.Duration) (*ActorCreated, error)
	// RevokeTokens revokes every token of an actor and reports how many.
	RevokeTokens(ctx context.Context, name string) (int, error)
	// ListTokens lists an actor's tokens that are not revoked, oldest
	// first: their ids and times, never a secret.
	ListTokens(ctx context.Context, actor string) ([]*Token, error)
	// RevokeToken revokes one token by its id, with the authority that
	// RevokeTokens asks for its actor's tokens.
	RevokeToken(ctx context.Context, id string) (*Token, error)
	// BindIdentity binds an actor to an identity provider's issuer and
	// subject. Humans only.
	BindIdentity(ctx context.Context, name, issuer, subject string) (*Actor, error)
}

// Token is what the ledger keeps of a bearer token: never the secret,
// only its hash (which stays in the store) and the id derived from it.
type Token struct {
	ID        string    `json:"id"`
	Actor     string    `json:"actor"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when it stops working; zero for a token that does not
	// expire (an ordinary actor token).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// FromLoginLink is set for a portal session's token, minted when a
	// one-time login link was spent.
	FromLoginLink bool `json:"from_login_link,omitempty"`
	// IssuedBy is the actor on whose authority it was issued: the one
	// whose credential issued it or, when that credential was handed to
	// it by another actor, that other actor (IssuerOf). Empty when not
	// known (issued before this was recorded, and no event names it).
	IssuedBy string `json:"issued_by,omitempty"`
	// IssuedWith is the id of the bearer credential that issued it (a
	// token's id, or the id of an identity provider's token), so ending
	// that credential's sign-in ends what it issued; empty for none.
	IssuedWith string `json:"issued_with,omitempty"`
}

// Vouched returns the actor other than its own who issued the token, or
// "": whoever issued a token for someone else could have kept it.
func (t *Token) Vouched() string {
	if t.IssuedBy != "" && t.IssuedBy != t.Actor {
		return t.IssuedBy
	}
	return ""
}

// TokenColumns are the columns both stores keep a token in, as aliased k:
// times in Unix nanoseconds (0 for none) and from_link 0 or 1.
const TokenColumns = `k.id, k.actor, k.created_at, k.expires_at, k.revoked_at, k.from_link, k.issued_by, k.issued_with`

// ScanToken reads a token from TokenColumns; scan reads a row into the
// destinations it is given after any of its own (a join's other columns).
func ScanToken(scan func(dest ...any) error) (*Token, error) {
	var k Token
	var created, expires, revoked, fromLink int64
	if err := scan(&k.ID, &k.Actor, &created, &expires, &revoked, &fromLink, &k.IssuedBy, &k.IssuedWith); err != nil {
		return nil, err
	}
	k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.FromLoginLink = fromUnixNanos(created), fromUnixNanos(expires), fromUnixNanos(revoked), fromLink != 0
	return &k, nil
}

// TokenRow returns the created_at, expires_at and from_link columns of a
// token as the stores keep them.
func (t *Token) TokenRow() (created, expires, fromLink int64) {
	if t.FromLoginLink {
		fromLink = 1
	}
	return unixNanos(t.CreatedAt), unixNanos(t.ExpiresAt), fromLink
}

func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Expired reports whether the token has expired at now.
func (t *Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// TokenIDLen is the length of a token id: that many leading hex digits
// of the token's SHA-256 hash, which the audit log already names, so an
// id says nothing a reader of the log could not see.
const TokenIDLen = 16

var tokenIDRE = lazyRegexp(`^[0-9a-f]{16}$`)

// TokenID returns the id of the token whose hex SHA-256 hash is given.
func TokenID(hash string) string {
	if len(hash) < TokenIDLen {
		return hash
	}
	return hash[:TokenIDLen]
}

// CheckTokenID refuses anything but a token id as `token list` shows it.
func CheckTokenID(id string) error {
	if !tokenIDRE().MatchString(id) {
		if len(id) > 64 {
			id = id[:64] + "…"
		}
		return FieldError("id", "%q is not a token id: give the 16 hex digits `fairway token list` shows (to revoke every token of an actor: `fairway token revoke --all NAME`)", id)
	}
	return nil
}

type actorKey struct{}

// NewContextWithActor returns a context that carries the acting actor.
func NewContextWithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFromContext returns the acting actor, or nil when there is none.
func ActorFromContext(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}
