package ai

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// ModelsKey is the consumer metadata key that lists, comma-separated, the
// model aliases a consumer may use. A consumer without it may use every
// alias.
const ModelsKey = "ai.models"

// authenticate identifies the consumer of r with the handler's
// authenticators, tried in order as a route's authentication tries them
// ([auth.Authenticators]): the first to identify the caller wins, so
// a key that one of them rejects may still be accepted by the next. A
// request none of them identifies keeps the consumer an authentication
// middleware in front put in its context. Without authenticators, that
// consumer (or none) is the caller. The errors wrap
// [auth.ErrNoCredentials], [auth.ErrInvalidCredentials] or
// [auth.ErrUnavailable].
func (h *Handler) authenticate(r *http.Request) (*middleware.Consumer, error) {
	if len(h.cfg.auths) == 0 {
		return middleware.ConsumerFrom(r.Context()), nil
	}
	c, err := h.cfg.auths.Authenticate(r)
	if errors.Is(err, auth.ErrNoCredentials) {
		if c := middleware.ConsumerFrom(r.Context()); c != nil {
			return c, nil
		}
	}
	return c, err
}

// modelsOf returns the aliases c may use, or nil for every alias.
func modelsOf(c *middleware.Consumer) []string {
	if c == nil {
		return nil
	}
	list, ok := c.Metadata[ModelsKey]
	if !ok {
		return nil
	}
	models := []string{}
	for m := range strings.SplitSeq(list, ",") {
		if m = strings.TrimSpace(m); m != "" {
			models = append(models, m)
		}
	}
	return models
}

// allows reports whether a caller restricted to models (nil: none) may use
// alias.
func allows(models []string, alias string) bool {
	return models == nil || slices.Contains(models, alias)
}
