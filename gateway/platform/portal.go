package platform

import (
	"net/http"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware"
)

// Portal returns the handler through which consumers manage their own
// subscriptions, for the public listener behind authentication (it reads
// middleware.ConsumerFrom). Mount it where [WithSubscribeURL] points:
//
//	POST  {"api":"<id>"}   requests a subscription for the calling consumer
//	GET                    lists the calling consumer's subscriptions
//
// A consumer sees only APIs its tenant may see, and only its own
// subscriptions. Requests are written to the audit log with the actor
// "consumer:<id>".
func (p *Platform) Portal() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := middleware.ConsumerFrom(r.Context())
		if c == nil {
			problem.Error(w, r, http.StatusUnauthorized, "authenticate with your API key to manage subscriptions")
			return
		}
		if rec := calllog.FromContext(r.Context()); rec != nil {
			rec.Tenant, rec.Consumer = c.Tenant, c.ID
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			v, err := p.Subscriptions(r.Context(), SubFilter{Tenant: c.Tenant, Consumer: c.ID})
			p.reply(w, r, http.StatusOK, v, err)
		case http.MethodPost:
			var in struct {
				API string `json:"api"`
			}
			if !decode(w, r, &in) {
				return
			}
			if in.API == "" {
				problem.Error(w, r, http.StatusBadRequest, `the body needs the API to subscribe to: {"api":"<id>"}`)
				return
			}
			v, err := p.Subscribe(r.Context(), "consumer:"+c.ID, c.Tenant, c.ID, in.API)
			status := http.StatusOK
			if err == nil && v.State == Pending {
				status = http.StatusAccepted
			}
			p.reply(w, r, status, v, err)
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			problem.Error(w, r, http.StatusMethodNotAllowed, "use GET to list your subscriptions or POST to request one")
		}
	})
}
