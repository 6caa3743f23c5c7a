package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portico-dev/portico/internal/cputime"
	"github.com/portico-dev/portico/middleware/auth"
)

// BenchmarkJWTVerify verifies a token whose key is already cached.
func BenchmarkJWTVerify(b *testing.B) {
	k := keysOnce()
	now := time.Now()
	authn := auth.NewJWTAuth(auth.JWTConfig{
		Algorithms: []string{"RS256", "ES256", "EdDSA", "HS256"},
		Keys:       map[string]any{"rsa": &k.rsa.PublicKey, "ec": &k.ec256.PublicKey, "ed": k.ed.Public(), "hmac": k.hmac},
		Issuer:     k.issuer,
		Audience:   []string{"orders-api"},
	})
	for _, tc := range []struct {
		name string
		m    jwt.SigningMethod
		key  any
		kid  string
	}{
		{
			"RS256",
			jwt.SigningMethodRS256,
			k.rsa,
			"rsa",
		},
		{
			"ES256",
			jwt.SigningMethodES256,
			k.ec256,
			"ec",
		},
		{
			"EdDSA",
			jwt.SigningMethodEdDSA,
			k.ed,
			"ed",
		},
		{
			"HS256",
			jwt.SigningMethodHS256,
			k.hmac,
			"hmac",
		},
	} {
		tok := sign(b, tc.m, tc.key, tc.kid, claims(now))
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			cpu := cputime.Process()
			defer func() { b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op") }()
			for b.Loop() {
				if _, err := authn.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
