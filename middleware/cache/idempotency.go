package cache

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware/internal/store"
)

// DefaultIdempotencyHeader is the request header carrying the key when
// [IdempotencyConfig].Header is empty.
const DefaultIdempotencyHeader = "Idempotency-Key"

// DefaultIdempotencyMethods returns the methods [Idempotency] protects
// when [IdempotencyConfig].Methods is nil: POST and PATCH. Each call
// returns a new slice.
func DefaultIdempotencyMethods() []string { return []string{http.MethodPost, http.MethodPatch} }

// IdempotencyConfig configures [Idempotency]. The zero value protects POST
// and PATCH requests that carry an Idempotency-Key, with an in-memory store
// and a 24-hour key lifetime.
type IdempotencyConfig struct {
	// Store keeps the keys and responses. If nil, a [MemoryIdempotency]
	// is used.
	Store IdempotencyStore
	// Header is the request header carrying the key. If empty,
	// [DefaultIdempotencyHeader] ("Idempotency-Key").
	Header string
	// Methods are the methods protected. If nil,
	// [DefaultIdempotencyMethods] (POST and PATCH).
	Methods []string
	// Required answers 400 to a protected request without a key. By
	// default such requests pass through unprotected.
	Required bool
	// TTL is how long a finished key is remembered. If zero, 24 hours.
	TTL time.Duration
	// Lock is how long a key stays claimed by a request in flight before
	// another request may take it (a replica that died mid-request must
	// not block the key forever). If zero, 5 minutes.
	Lock time.Duration
	// MaxBody is the largest request body fingerprinted and the largest
	// response body stored, in bytes. A larger request gets 413; a larger
	// response is remembered by status and header only. If zero, 1 MiB.
	MaxBody int64
	// Scope returns the part of the key that separates callers, so one
	// caller's key never matches another's. If nil, [ConsumerScope]: keys
	// belong to the authenticated consumer, and anonymous callers share
	// theirs.
	Scope func(*http.Request) string
	// StoreServerErrors keeps 5xx responses as the final answer for their
	// key. By default a 5xx releases the key, so the client can retry.
	StoreServerErrors bool
	// FailOpen runs requests unprotected when the store fails. By default
	// they get 503.
	FailOpen bool
	// Logger receives store errors. If nil, they are discarded.
	Logger *slog.Logger
}

type idempotency struct {
	store     IdempotencyStore
	header    string
	methods   []string
	required  bool
	ttl, lock time.Duration
	maxBody   int64
	scope     func(*http.Request) string
	store5xx  bool
	failOpen  bool
	log       *slog.Logger
}

// Idempotency returns a middleware that makes retries of state-changing
// requests safe, following the IETF Idempotency-Key header draft:
//
//   - the first request with a key claims it atomically in the store and
//     runs; its response (status, header, body) is stored for TTL;
//   - a repeat with the same key and the same fingerprint (method, path,
//     query and body) gets the stored response, with the header
//     "Idempotent-Replayed: true";
//   - a repeat with a different fingerprint gets 422;
//   - a repeat while the first request is in flight gets 409;
//   - a 5xx response releases the key unless StoreServerErrors is set;
//   - keys are scoped to the consumer ([ConsumerScope]) unless Scope says
//     otherwise.
//
// Keys may be sent as a Structured Fields string ("...") or bare.
// All errors are RFC 9457 problem documents.
func Idempotency(cfg IdempotencyConfig) func(http.Handler) http.Handler {
	m := newIdempotency(cfg)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.serve(w, r, next)
		})
	}
}

func newIdempotency(cfg IdempotencyConfig) *idempotency {
	if cfg.TTL < 0 || cfg.Lock < 0 || cfg.MaxBody < 0 {
		panic("portico/cache: IdempotencyConfig TTL, Lock and MaxBody must not be negative")
	}
	m := &idempotency{
		store: cfg.Store, header: cfg.Header, methods: cfg.Methods, required: cfg.Required,
		ttl: cfg.TTL, lock: cfg.Lock, maxBody: cfg.MaxBody, scope: cfg.Scope,
		store5xx: cfg.StoreServerErrors, failOpen: cfg.FailOpen, log: cfg.Logger,
	}
	if m.store == nil {
		m.store = NewMemoryIdempotency(MemoryIdempotencyConfig{})
	}
	if m.scope == nil {
		m.scope = ConsumerScope
	}
	if m.header == "" {
		m.header = DefaultIdempotencyHeader
	}
	if m.methods == nil {
		m.methods = DefaultIdempotencyMethods()
	}
	if m.ttl == 0 {
		m.ttl = 24 * time.Hour
	}
	if m.lock == 0 {
		m.lock = 5 * time.Minute
	}
	if m.maxBody == 0 {
		m.maxBody = 1 << 20
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m
}

func (m *idempotency) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !slices.Contains(m.methods, r.Method) {
		next.ServeHTTP(w, r)
		return
	}
	raw, present := r.Header[http.CanonicalHeaderKey(m.header)]
	if !present {
		if m.required {
			problem.Error(w, r, http.StatusBadRequest, "this operation requires an "+m.header+" header")
			return
		}
		next.ServeHTTP(w, r)
		return
	}
	key, ok := parseIdempotencyKey(raw)
	if !ok {
		problem.Error(w, r, http.StatusBadRequest, "the "+m.header+" header must hold one key of 1 to 255 visible ASCII characters")
		return
	}
	body, err := readBody(r, m.maxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			problem.Error(w, r, http.StatusRequestEntityTooLarge, "the request body is too large")
			return
		}
		problem.Error(w, r, http.StatusBadRequest, "the request body could not be read")
		return
	}
	if int64(len(body)) > m.maxBody {
		problem.Error(w, r, http.StatusRequestEntityTooLarge, "the request body is too large for an idempotent request")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	storeKey := m.scope(r) + "\x00" + key
	rec := &IdempotencyRecord{Fingerprint: fingerprint(r, body), Token: newToken()}
	ctx := context.WithoutCancel(r.Context())
	existing, err := m.store.Claim(ctx, storeKey, rec, m.lock)
	if err != nil {
		store.LogError(ctx, m.log, slog.LevelError, "idempotency store claim failed", err)
		if m.failOpen {
			next.ServeHTTP(w, r)
			return
		}
		problem.Error(w, r, http.StatusServiceUnavailable, "idempotency keys cannot be checked right now; retry later")
		return
	}
	if existing != nil {
		m.answerExisting(w, r, existing, rec.Fingerprint)
		return
	}
	m.run(w, r, next, storeKey, rec)
}

func (m *idempotency) answerExisting(w http.ResponseWriter, r *http.Request, existing *IdempotencyRecord, fp string) {
	switch {
	case existing.Fingerprint != fp:
		problem.Error(w, r, http.StatusUnprocessableEntity, "this "+m.header+" was already used with a different request")
	case !existing.Done:
		w.Header().Set("Retry-After", "1")
		problem.Error(w, r, http.StatusConflict, "a request with this "+m.header+" is still being processed")
	default:
		h := w.Header()
		for k, v := range existing.Header {
			h[k] = v
		}
		h.Set("Idempotent-Replayed", "true")
		h.Set("Content-Length", strconv.Itoa(len(existing.Body)))
		w.WriteHeader(existing.Status)
		_, _ = w.Write(existing.Body)
	}
}

// run executes the request while holding the key, then stores or releases it.
func (m *idempotency) run(w http.ResponseWriter, r *http.Request, next http.Handler, key string, rec *IdempotencyRecord) {
	ctx := context.WithoutCancel(r.Context())
	t := newTeeWriter(w, m.maxBody, func(t *teeWriter) { t.capture = true })
	finished := false
	defer func() {
		if !finished { // the handler panicked: let the key be used again
			m.release(ctx, key, rec.Token)
		}
	}()
	next.ServeHTTP(t, r)
	t.finish()
	finished = true
	if t.hijacked || (t.status >= 500 && !m.store5xx) {
		m.release(ctx, key, rec.Token)
		return
	}
	done := &IdempotencyRecord{
		Fingerprint: rec.Fingerprint, Token: rec.Token, Done: true,
		Status: t.status, Header: storableHeader(t.header),
	}
	if t.complete() {
		done.Body = t.body.Bytes()
	}
	if err := m.store.Complete(ctx, key, done, m.ttl); err != nil {
		store.LogError(ctx, m.log, slog.LevelError, "idempotency store complete failed", err)
	}
}

func (m *idempotency) release(ctx context.Context, key, token string) {
	if err := m.store.Release(ctx, key, token); err != nil {
		store.LogError(ctx, m.log, slog.LevelWarn, "idempotency store release failed", err)
	}
}

// readBody reads up to max+1 bytes of the request body, in one allocation
// when the length is declared.
func readBody(r *http.Request, max int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if n := r.ContentLength; n >= 0 && n <= max {
		buf := make([]byte, n)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(io.LimitReader(r.Body, max+1))
}

// parseIdempotencyKey reads the key from the field's lines: exactly one
// member, either a Structured Fields string or a bare run of visible
// ASCII, 1 to 255 characters.
func parseIdempotencyKey(lines []string) (string, bool) {
	if len(lines) != 1 {
		return "", false
	}
	s := strings.TrimSpace(lines[0])
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			c := s[i]
			if c == '\\' {
				i++
				if i >= len(s) || (s[i] != '"' && s[i] != '\\') {
					return "", false
				}
				c = s[i]
			} else if c < 0x20 || c > 0x7e {
				return "", false
			}
			b.WriteByte(c)
		}
		if i != len(s)-1 {
			return "", false // unterminated, or something after the string
		}
		s = b.String()
	}
	if len(s) == 0 || len(s) > 255 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "", false
		}
	}
	return s, true
}

// fingerprint hashes what makes two requests "the same": method, target
// and body.
func fingerprint(r *http.Request, body []byte) string {
	h := sha256.New()
	h.Write([]byte(r.Method))
	h.Write([]byte{0})
	h.Write([]byte(r.URL.EscapedPath()))
	h.Write([]byte{'?'})
	h.Write([]byte(r.URL.RawQuery))
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
