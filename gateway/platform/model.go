package platform

import (
	"fmt"
	"time"

	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/middleware"
)

// Tenant is a team or organisation sharing the gateway. Consumers, keys,
// subscriptions and call records all belong to one tenant.
type Tenant struct {
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	Created time.Time `json:"created"`
}

// ConsumerRecord is a consumer as the platform stores it: an application
// of a tenant that calls APIs. Its identity is a [middleware.Consumer],
// the very value authentication puts in the request context (ID, Tenant,
// Plan, Scopes, Roles, Metadata), with the record's display name and
// creation time beside it. The ID is unique across tenants, since keys and
// subscriptions name it alone. Its JSON form is flat: id, tenant, plan,
// scopes, roles, metadata, name and created. Credential and Method say how
// one request was authenticated; a record holding them is refused with
// [ErrInvalid].
type ConsumerRecord struct {
	middleware.Consumer
	// Name is a display name for the console and catalog.
	Name string `json:"name,omitempty"`
	// Created is when the consumer was created.
	Created time.Time `json:"created"`
}

// Key is an API key of a consumer. Only the SHA-256 hash of its secret is
// stored; the secret is shown once, when the key is created.
type Key struct {
	ID       string `json:"id"`
	Tenant   string `json:"tenant"`
	Consumer string `json:"consumer"`
	// Hash is the hex SHA-256 hash of the secret. It is kept in the store
	// only: the methods returning keys clear it.
	Hash    string    `json:"hash,omitempty"`
	Prefix  string    `json:"prefix"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
}

// Visibility says which tenants may see and subscribe to an [API].
type Visibility string

// Visibilities.
const (
	// Public APIs are listed for, and open to, every tenant.
	Public Visibility = "public"
	// TenantOnly APIs exist only for the tenant that owns them; other
	// tenants neither see them nor reach them.
	TenantOnly Visibility = "tenant"
)

// Approval says whether a subscription needs an administrator.
type Approval string

// Approval modes.
const (
	// Auto activates a subscription as soon as it is requested.
	Auto Approval = "auto"
	// Manual leaves a subscription pending until an administrator approves it.
	Manual Approval = "manual"
)

// State is where an [API] stands in its life.
type State string

// API states. An API moves forward from Draft to Retired; it may move back
// from Deprecated to Published.
const (
	// Draft APIs are invisible and unreachable.
	Draft State = "draft"
	// Published APIs are listed and callable with an active subscription.
	Published State = "published"
	// Deprecated APIs still work; their responses carry Deprecation and
	// Sunset headers and no new subscriptions are accepted.
	Deprecated State = "deprecated"
	// Retired APIs answer 410 Gone.
	Retired State = "retired"
)

// API is a published unit of routes that consumers subscribe to.
type API struct {
	ID          string     `json:"id"`
	Tenant      string     `json:"tenant"` // the owner
	Name        string     `json:"name,omitempty"`
	Description string     `json:"description,omitempty"`
	Visibility  Visibility `json:"visibility"`
	Approval    Approval   `json:"approval"`
	State       State      `json:"state"`
	// Docs is the URL of the API's documentation page, such as an
	// openapi.Docs handler.
	Docs string `json:"docs,omitempty"`
	// Deprecated and Sunset are set when the API is deprecated: from
	// Sunset on it answers 410. Successor names its replacement.
	Deprecated time.Time `json:"deprecated,omitzero"`
	Sunset     time.Time `json:"sunset,omitzero"`
	Successor  string    `json:"successor,omitempty"`
	Created    time.Time `json:"created"`
}

// visibleTo reports whether tenant may see a.
func (a *API) visibleTo(tenant string) bool {
	return a.State != Draft && (a.Visibility == Public || a.Tenant == tenant)
}

// SubState is the state of a [Subscription].
type SubState string

// Subscription states and the transitions between them:
//
//	(none, Rejected, Revoked) ─request─► Pending (manual) or Active (auto)
//	Pending   ─approve─► Active      Pending ─reject─► Rejected
//	Active    ─suspend─► Suspended   Suspended ─resume─► Active
//	Pending, Active, Suspended ─revoke─► Revoked
const (
	Pending   SubState = "pending"
	Active    SubState = "active"
	Rejected  SubState = "rejected"
	Suspended SubState = "suspended"
	Revoked   SubState = "revoked"
)

// Subscription lets one consumer call one API while it is [Active].
type Subscription struct {
	ID       string    `json:"id"` // "<consumer>.<api>"
	Tenant   string    `json:"tenant"`
	Consumer string    `json:"consumer"`
	API      string    `json:"api"`
	State    SubState  `json:"state"`
	Reason   string    `json:"reason,omitempty"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
}

// subID is the ID of consumer c's subscription to API a.
func subID(c, a string) string { return c + "." + a }

// Entry is one line of the audit log: who changed what, when.
type Entry struct {
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"` // such as "subscription.approve"
	Kind   string    `json:"kind"`
	ID     string    `json:"id"`
	Tenant string    `json:"tenant,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// checkID returns an error naming field when id is not a valid identifier:
// 1 to 64 letters, digits, '-' or '_', starting with a letter or digit.
func checkID(field, id string) error {
	if !fields.ValidID(id) {
		return fmt.Errorf("%w: %s %q must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit", ErrInvalid, field, id)
	}
	return nil
}
