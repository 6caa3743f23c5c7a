package platform_test

import (
	"context"
	"errors"
	"testing"

	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware"
)

func TestSubscriptionsFollowTheirStateMachine(t *testing.T) {
	t.Parallel()
	// path lists the actions that bring a new manual subscription to a state.
	path := map[platform.SubState][]string{
		platform.Pending:   nil,
		platform.Active:    {"approve"},
		platform.Rejected:  {"reject"},
		platform.Suspended: {"approve", "suspend"},
		platform.Revoked:   {"revoke"},
	}
	allowed := map[platform.SubState]map[string]platform.SubState{
		platform.Pending:   {"approve": platform.Active, "reject": platform.Rejected, "revoke": platform.Revoked},
		platform.Active:    {"suspend": platform.Suspended, "revoke": platform.Revoked},
		platform.Suspended: {"resume": platform.Active, "revoke": platform.Revoked},
		platform.Rejected:  {},
		platform.Revoked:   {},
	}
	for from, actions := range allowed {
		for _, action := range []string{"approve", "reject", "suspend", "resume", "revoke"} {
			to, ok := actions[action]
			name := "from " + string(from) + ", " + action + " is refused"
			if ok {
				name = "from " + string(from) + ", " + action + " leads to " + string(to)
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				p := platform.New(platform.NewMemoryStore())
				_, _ = p.CreateTenant(ctx, "ops", platform.Tenant{ID: "acme"})
				_, _ = p.CreateConsumer(ctx, "ops", platform.ConsumerRecord{Consumer: middleware.Consumer{ID: "shop", Tenant: "acme"}})
				_, _ = p.PutAPI(ctx, "ops", platform.API{ID: "orders", Tenant: "acme", State: platform.Published})
				s, err := p.Subscribe(ctx, "shop", "acme", "shop", "orders")
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range path[from] {
					if s, err = p.Transition(ctx, "ops", s.ID, a, ""); err != nil {
						t.Fatalf("reaching %s with %s: %v", from, a, err)
					}
				}
				got, err := p.Transition(ctx, "ops", s.ID, action, "because")
				switch {
				case ok && (err != nil || got.State != to || got.Reason != "because"):
					t.Errorf("got %+v, %v; want state %s", got, err, to)
				case !ok && !errors.Is(err, platform.ErrConflict):
					t.Errorf("got %v, want ErrConflict", err)
				}
			})
		}
	}
}

func TestSubscribingAgainAfterARejectionOrRevocationStartsOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := platform.New(platform.NewMemoryStore())
	_, _ = p.CreateTenant(ctx, "ops", platform.Tenant{ID: "acme"})
	_, _ = p.CreateConsumer(ctx, "ops", platform.ConsumerRecord{Consumer: middleware.Consumer{ID: "shop", Tenant: "acme"}})
	_, _ = p.PutAPI(ctx, "ops", platform.API{ID: "orders", Tenant: "acme", State: platform.Published})
	s, _ := p.Subscribe(ctx, "shop", "acme", "shop", "orders")
	again, _ := p.Subscribe(ctx, "shop", "acme", "shop", "orders")
	if got, want := again.State, platform.Pending; got != want {
		t.Errorf("subscribing twice: state %v, want %v", got, want)
	}
	if !again.Created.Equal(s.Created) {
		t.Errorf("subscribing twice: created %v, want the first subscription's %v", again.Created, s.Created)
	}
	_, _ = p.Transition(ctx, "ops", s.ID, "reject", "")
	if again, _ := p.Subscribe(ctx, "shop", "acme", "shop", "orders"); again.State != platform.Pending {
		t.Errorf("after a rejection = %+v, want pending again", again)
	}
	_, _ = p.Approve(ctx, "ops", s.ID)
	_, _ = p.Transition(ctx, "ops", s.ID, "suspend", "")
	if _, err := p.Subscribe(ctx, "shop", "acme", "shop", "orders"); !errors.Is(err, platform.ErrConflict) {
		t.Errorf("subscribing while suspended: %v, want ErrConflict", err)
	}
	if _, err := p.Transition(ctx, "ops", s.ID, "delete", ""); !errors.Is(err, platform.ErrInvalid) {
		t.Errorf("an unknown action: %v, want ErrInvalid", err)
	}
}
