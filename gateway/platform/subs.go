package platform

import (
	"context"
	"fmt"
	"slices"
)

// Subscribe requests a subscription of consumer (of tenant) to API api.
// The API must be visible to the tenant and published; with [Auto]
// approval the subscription is active at once, with [Manual] it waits
// for [Platform.Approve]. Subscribing again while pending or active
// returns the existing subscription unchanged.
func (p *Platform) Subscribe(ctx context.Context, actor, tenant, consumer, api string) (*Subscription, error) {
	if _, err := p.Consumer(ctx, tenant, consumer); err != nil {
		return nil, err
	}
	a, err := p.API(ctx, api)
	if err != nil {
		return nil, err
	}
	if !a.visibleTo(tenant) {
		return nil, fmt.Errorf("%w: api %q", ErrNotFound, api)
	}
	if a.State != Published {
		return nil, fmt.Errorf("%w: api %q is %s and accepts no new subscriptions", ErrConflict, api, a.State)
	}
	now := p.now().UTC()
	changed := false
	s, err := update(ctx, p, kindSub, subID(consumer, api), func(s *Subscription, exists bool) (*Subscription, error) {
		if exists && (s.State == Pending || s.State == Active) {
			changed = false
			return s, nil
		}
		if exists && s.State == Suspended {
			return nil, fmt.Errorf("%w: the subscription is suspended; an administrator must resume it", ErrConflict)
		}
		changed = true
		next := Subscription{ID: subID(consumer, api), Tenant: tenant, Consumer: consumer, API: api,
			State: Pending, Created: now, Updated: now}
		if a.Approval == Auto {
			next.State = Active
		}
		return &next, nil
	})
	if err != nil || !changed {
		return s, err
	}
	return s, p.audit(ctx, Entry{Actor: actor, Action: "subscription.request", Kind: kindSub, ID: s.ID, Tenant: tenant, Detail: string(s.State)})
}

// transition returns the states action applies to and the state it leads
// to.
func transition(action string) (from []SubState, to SubState, ok bool) {
	switch action {
	case "approve":
		return []SubState{Pending}, Active, true
	case "reject":
		return []SubState{Pending}, Rejected, true
	case "suspend":
		return []SubState{Active}, Suspended, true
	case "resume":
		return []SubState{Suspended}, Active, true
	case "revoke":
		return []SubState{Pending, Active, Suspended}, Revoked, true
	}
	return nil, "", false
}

// Transition applies action ("approve", "reject", "suspend", "resume" or
// "revoke") to subscription id, with an optional reason. An action that
// does not apply to the subscription's state fails with [ErrConflict].
// The change is effective on the next request on every replica sharing
// the store (see [WithRefresh]).
func (p *Platform) Transition(ctx context.Context, actor, id, action, reason string) (*Subscription, error) {
	from, to, ok := transition(action)
	if !ok {
		return nil, fmt.Errorf("%w: action %q: use approve, reject, suspend, resume or revoke", ErrInvalid, action)
	}
	s, err := update(ctx, p, kindSub, id, func(s *Subscription, exists bool) (*Subscription, error) {
		if !exists {
			return nil, fmt.Errorf("%w: subscription %q", ErrNotFound, id)
		}
		if !slices.Contains(from, s.State) {
			return nil, fmt.Errorf("%w: cannot %s a subscription that is %s", ErrConflict, action, s.State)
		}
		s.State, s.Reason, s.Updated = to, reason, p.now().UTC()
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	return s, p.audit(ctx, Entry{Actor: actor, Action: "subscription." + action, Kind: kindSub, ID: id, Tenant: s.Tenant, Detail: reason})
}

// Approve activates a pending subscription.
func (p *Platform) Approve(ctx context.Context, actor, id string) (*Subscription, error) {
	return p.Transition(ctx, actor, id, "approve", "")
}

// Revoke ends a subscription; the consumer must subscribe again.
func (p *Platform) Revoke(ctx context.Context, actor, id, reason string) (*Subscription, error) {
	return p.Transition(ctx, actor, id, "revoke", reason)
}

// SubFilter selects subscriptions. Empty fields match everything.
type SubFilter struct {
	Tenant, Consumer, API string
	State                 SubState
}

// Subscriptions lists the subscriptions matching f, ordered by ID.
func (p *Platform) Subscriptions(ctx context.Context, f SubFilter) ([]Subscription, error) {
	return list(ctx, p, kindSub, func(s *Subscription) bool {
		return (f.Tenant == "" || s.Tenant == f.Tenant) && (f.Consumer == "" || s.Consumer == f.Consumer) &&
			(f.API == "" || s.API == f.API) && (f.State == "" || s.State == f.State)
	})
}

// Subscription returns subscription id.
func (p *Platform) Subscription(ctx context.Context, id string) (*Subscription, error) {
	var s Subscription
	return &s, p.get(ctx, kindSub, id, &s)
}
