package auth

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware"
)

// Authentication errors. Authenticators wrap them so that [New]
// can choose the response without showing the client why a credential
// failed.
var (
	// ErrNoCredentials means the request carries no credential this
	// authenticator understands; the next authenticator is tried.
	ErrNoCredentials = errors.New("portico/auth: no credentials")
	// ErrInvalidCredentials means a credential was presented and rejected.
	ErrInvalidCredentials = errors.New("portico/auth: invalid credentials")
	// ErrUnavailable means the credential could not be checked, for
	// example because a token introspection endpoint is down.
	ErrUnavailable = errors.New("portico/auth: authentication unavailable")
)

// Authenticator identifies the caller of a request. Implementations must be
// safe for concurrent use.
type Authenticator interface {
	// Authenticate returns the verified consumer, or an error wrapping
	// [ErrNoCredentials], [ErrInvalidCredentials] or [ErrUnavailable].
	Authenticate(r *http.Request) (*middleware.Consumer, error)
}

// Challenger is implemented by authenticators that name an HTTP
// authentication scheme for the WWW-Authenticate header of a 401.
type Challenger interface {
	// Challenge returns one challenge, such as `Bearer realm="api"`.
	Challenge(realm string) string
}

// AuthenticatorFunc adapts a function to [Authenticator].
type AuthenticatorFunc func(r *http.Request) (*middleware.Consumer, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (*middleware.Consumer, error) { return f(r) }

// Config configures [New]. Only Authenticators is required.
type Config struct {
	// Authenticators are tried in order; the first to succeed identifies
	// the consumer (any-of).
	Authenticators []Authenticator
	// Anonymous lets requests without any credential through with no
	// consumer in the context. A credential that is presented and fails is
	// still rejected: a bad key never silently degrades to anonymous.
	Anonymous bool
	// Realm is the realm in WWW-Authenticate challenges. If empty, "api" is used.
	Realm string
	// Logger receives the reason for each rejection at debug level, and
	// unavailable authentication backends at warn level. If nil, nothing is logged.
	Logger *slog.Logger
	// StripCredential removes the credential that identified the caller
	// (see [CredentialLocator]) from the request the next handler sees,
	// for a proxy that must not pass it on. By default the next handler
	// sees the request as it arrived, so that a handler may still read or
	// relay the token; a proxy can instead strip it from its outbound
	// request alone with [StripCredential], as the gateway does.
	StripCredential bool
}

// New returns middleware that identifies the caller with the
// configured authenticators and stores the [middleware.Consumer] in the request
// context (read it with [middleware.ConsumerFrom]), with where the credential was
// when the authenticator is a [CredentialLocator] (for [StripCredential]).
//
// A request whose credentials are missing (unless Anonymous is set) or
// invalid gets a 401 problem with one WWW-Authenticate challenge per
// authenticator; one whose credentials could not be checked gets 503. The
// problem never says which check failed.
//
// It panics if no authenticator is configured.
func New(cfg Config) func(http.Handler) http.Handler {
	if len(cfg.Authenticators) == 0 {
		panic("portico/auth: New needs at least one Authenticator")
	}
	auths := append([]Authenticator(nil), cfg.Authenticators...)
	realm := cfg.Realm
	if realm == "" {
		realm = "api"
	}
	var challenges, invalidChallenges []string
	for _, a := range auths {
		c, ok := a.(Challenger)
		if !ok {
			continue
		}
		ch := c.Challenge(realm)
		if ch == "" {
			continue
		}
		challenges = append(challenges, ch)
		if strings.HasPrefix(ch, "Bearer ") {
			ch += `, error="invalid_token"`
		}
		invalidChallenges = append(invalidChallenges, ch)
	}
	log := cfg.Logger
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var failed, unavailable error
			for _, a := range auths {
				c, err := a.Authenticate(r)
				if err == nil && c != nil {
					r = r.WithContext(withAuth(r.Context(), c, a, r))
					if cfg.StripCredential {
						r = withoutCredential(r)
					}
					next.ServeHTTP(w, r)
					return
				}
				switch {
				case err == nil, errors.Is(err, ErrNoCredentials):
				case errors.Is(err, ErrUnavailable):
					unavailable = err
				default:
					failed = err
				}
			}
			switch {
			case failed != nil:
				if log != nil {
					log.LogAttrs(r.Context(), slog.LevelDebug, "authentication failed", slog.String("error", failed.Error()))
				}
				writeUnauthorized(w, r, invalidChallenges, "The credentials are invalid.")
			case unavailable != nil:
				if log != nil {
					log.LogAttrs(r.Context(), slog.LevelWarn, "authentication unavailable", slog.String("error", unavailable.Error()))
				}
				w.Header().Set("Retry-After", "1")
				problem.Error(w, r, http.StatusServiceUnavailable, "Authentication is temporarily unavailable.")
			case cfg.Anonymous:
				next.ServeHTTP(w, r)
			default:
				writeUnauthorized(w, r, challenges, "Authentication is required.")
			}
		})
	}
}

func writeUnauthorized(w http.ResponseWriter, r *http.Request, challenges []string, detail string) {
	h := w.Header()
	for _, c := range challenges {
		h.Add("WWW-Authenticate", c)
	}
	problem.Error(w, r, http.StatusUnauthorized, detail)
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(v[7:])
	return t, t != ""
}

// bearerSource locates the Authorization header whose token bearerToken
// returned.
func bearerSource(r *http.Request) CredentialSource {
	return CredentialSource{Header: "Authorization", Value: r.Header.Get("Authorization")}
}

// quoteParam quotes an auth-param value.
func quoteParam(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
