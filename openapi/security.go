package openapi

import (
	"net/http"
	"slices"
	"strings"
)

// checkSecurity applies op's security requirements to the identity given by
// the configured IdentityFunc. Any one requirement must be met in full.
func (v *Validator) checkSecurity(r *http.Request, op *Operation) error {
	if v.cfg.identity == nil || len(op.Security) == 0 {
		return nil
	}
	id, ok := v.cfg.identity(r)
	var missing []string
	for _, req := range op.Security {
		if len(req) == 0 {
			return nil // {} in the list: anonymous access allowed
		}
		if !ok {
			continue
		}
		var lack []string
		for scheme, scopes := range req {
			if id.Schemes != nil && !slices.Contains(id.Schemes, scheme) {
				lack = append(lack, "scheme "+scheme)
				continue
			}
			for _, s := range scopes {
				if !slices.Contains(id.Scopes, s) {
					lack = append(lack, "scope "+s)
				}
			}
		}
		if len(lack) == 0 {
			return nil
		}
		if missing == nil || len(lack) < len(missing) {
			missing = lack
		}
	}
	if !ok {
		return &ValidationError{Status: http.StatusUnauthorized, Detail: "this operation requires authentication"}
	}
	slices.Sort(missing)
	return &ValidationError{Status: http.StatusForbidden, Detail: "the caller lacks " + strings.Join(missing, ", ")}
}
