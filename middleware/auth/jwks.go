package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// JWK is one verification key of a JSON Web Key Set (RFC 7517).
type JWK struct {
	// ID is the "kid" member.
	ID string
	// Algorithm is the "alg" member; if set, tokens signed with another
	// algorithm are refused with this key.
	Algorithm string
	// Key is *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or, for
	// "oct" keys, []byte.
	Key any
}

// minRSABits is the smallest RSA modulus accepted from a key set.
const minRSABits = 2048

type rawJWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	K   string `json:"k"`
}

// ParseJWKS parses a JSON Web Key Set. Keys that are not for signatures
// ("use" other than "sig"), of an unknown type, or too weak (RSA under
// 2048 bits) are skipped; a set that is not valid JSON, or a key of a known
// type with invalid parameters, is an error.
func ParseJWKS(data []byte) ([]JWK, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("portico/auth: JWKS is not a JSON key set: %w", err)
	}
	keys := make([]JWK, 0, len(set.Keys))
	for i, raw := range set.Keys {
		var k rawJWK
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, fmt.Errorf("portico/auth: JWKS key %d: %w", i, err)
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		key, err := k.public()
		if err != nil {
			return nil, fmt.Errorf("portico/auth: JWKS key %d (kid %q): %w", i, k.Kid, err)
		}
		if key != nil {
			keys = append(keys, JWK{ID: k.Kid, Algorithm: k.Alg, Key: key})
		}
	}
	return keys, nil
}

func b64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func (k rawJWK) public() (any, error) {
	switch k.Kty {
	case "RSA":
		n, err := b64(k.N)
		if err != nil || len(n) == 0 {
			return nil, errors.New(`invalid "n"`)
		}
		e, err := b64(k.E)
		if err != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New(`invalid "e"`)
		}
		var exp int
		for _, b := range e {
			exp = exp<<8 | int(b)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
		if exp < 3 || exp%2 == 0 {
			return nil, errors.New(`invalid "e"`)
		}
		if pub.N.BitLen() < minRSABits {
			return nil, nil
		}
		return pub, nil
	case "EC":
		var c elliptic.Curve
		switch k.Crv {
		case "P-256":
			c = elliptic.P256()
		case "P-384":
			c = elliptic.P384()
		case "P-521":
			c = elliptic.P521()
		default:
			return nil, nil
		}
		size := (c.Params().BitSize + 7) / 8
		x, errX := b64(k.X)
		y, errY := b64(k.Y)
		if errX != nil || errY != nil || len(x) != size || len(y) != size {
			return nil, errors.New(`invalid "x" or "y"`)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(c, append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, errors.New("point is not on the curve")
		}
		return pub, nil
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, nil
		}
		x, err := b64(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New(`invalid "x"`)
		}
		return ed25519.PublicKey(x), nil
	case "oct":
		secret, err := b64(k.K)
		if err != nil || len(secret) < 32 {
			return nil, errors.New(`invalid or short "k" (want at least 32 bytes)`)
		}
		return secret, nil
	}
	return nil, nil
}

// JWKSConfig configures [NewJWKS]. Only URL is required.
type JWKSConfig struct {
	// URL is where the key set is fetched from.
	URL string
	// Client fetches the key set. If nil, a client with a 10-second
	// timeout is used.
	Client *http.Client
	// Refresh is how often the set is refetched in the background. If
	// zero, 15 minutes is used.
	Refresh time.Duration
	// MinRefetch bounds how often a token with an unknown "kid" may cause a
	// refetch, so that random key IDs cannot turn the gateway into a flood
	// against the identity provider. If zero, 30 seconds is used.
	MinRefetch time.Duration
	// MaxBytes limits the size of the key set document. If zero, 1 MiB is used.
	MaxBytes int64
	// Now returns the current time. If nil, time.Now is used.
	Now func() time.Time
	// Logger receives fetch failures at warn level. If nil, nothing is logged.
	Logger *slog.Logger
}

// JWKS is a cached JSON Web Key Set fetched from a URL. It refreshes the set
// in the background, refetches at a bounded rate when a token names an
// unknown key, and keeps serving the keys it has while the URL is
// unreachable. It is safe for concurrent use; call Close to stop the
// background refresh.
type JWKS struct {
	cfg     JWKSConfig
	keys    atomic.Pointer[map[string]JWK]
	fetches atomic.Int64

	mu       sync.Mutex
	last     time.Time     // last fetch attempt
	inflight chan struct{} // closed when the running fetch ends

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewJWKS returns a key set cache for cfg.URL and starts fetching it in
// the background. It panics if URL is empty.
func NewJWKS(cfg JWKSConfig) *JWKS {
	if cfg.URL == "" {
		panic("portico/auth: NewJWKS needs a URL")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 15 * time.Minute
	}
	if cfg.MinRefetch <= 0 {
		cfg.MinRefetch = 30 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	j := &JWKS{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	go j.loop()
	return j
}

// Close stops the background refresh and waits for it to end.
func (j *JWKS) Close() {
	j.once.Do(func() { close(j.stop) })
	<-j.done
}

// Fetches returns how many times the key set has been requested from its URL.
func (j *JWKS) Fetches() int64 { return j.fetches.Load() }

func (j *JWKS) loop() {
	defer close(j.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-j.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	retry := time.Second
	for {
		wait := j.cfg.Refresh
		if err := j.fetch(ctx); err != nil && j.keys.Load() == nil {
			// Nothing cached yet: retry sooner, backing off.
			wait = min(retry, j.cfg.Refresh)
			retry = min(2*retry, time.Minute)
		}
		t := time.NewTimer(wait)
		select {
		case <-j.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// fetch runs one fetch, or waits for the one in flight.
func (j *JWKS) fetch(ctx context.Context) error {
	j.mu.Lock()
	if ch := j.inflight; ch != nil {
		j.mu.Unlock()
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ch := make(chan struct{})
	j.inflight = ch
	j.last = j.cfg.Now()
	j.mu.Unlock()
	err := j.get(ctx)
	j.mu.Lock()
	j.inflight = nil
	j.mu.Unlock()
	close(ch)
	if err != nil && j.cfg.Logger != nil {
		j.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "JWKS fetch failed; keeping cached keys",
			slog.String("url", j.cfg.URL), slog.String("error", err.Error()))
	}
	return err
}

func (j *JWKS) get(ctx context.Context) error {
	j.fetches.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.cfg.URL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := j.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("JWKS answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, j.cfg.MaxBytes+1))
	if err != nil {
		return err
	}
	if int64(len(body)) > j.cfg.MaxBytes {
		return fmt.Errorf("JWKS is larger than %d bytes", j.cfg.MaxBytes)
	}
	keys, err := ParseJWKS(body)
	if err != nil {
		return err
	}
	m := make(map[string]JWK, len(keys))
	for _, k := range keys {
		m[k.ID] = k
	}
	j.keys.Store(&m)
	return nil
}

// Refresh fetches the key set now, or waits for a fetch in flight.
func (j *JWKS) Refresh(ctx context.Context) error { return j.fetch(ctx) }

// Key returns the key with the given ID. An unknown ID triggers a refetch
// unless one started less than MinRefetch ago.
func (j *JWKS) Key(ctx context.Context, kid string) (JWK, bool) {
	if k, ok := j.lookup(kid); ok {
		return k, true
	}
	j.mu.Lock()
	due := j.inflight != nil || j.last.IsZero() || j.cfg.Now().Sub(j.last) >= j.cfg.MinRefetch
	j.mu.Unlock()
	if !due {
		return JWK{}, false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = j.fetch(ctx)
	return j.lookup(kid)
}

func (j *JWKS) lookup(kid string) (JWK, bool) {
	m := j.keys.Load()
	if m == nil {
		return JWK{}, false
	}
	k, ok := (*m)[kid]
	if !ok && kid == "" && len(*m) == 1 {
		for _, only := range *m {
			return only, true
		}
	}
	return k, ok
}
