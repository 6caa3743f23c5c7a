package aitest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// bedrockAuth checks the request's credentials as Bedrock does, and
// returns the exception and message to refuse it with, or "".
func (x *exchange) bedrockAuth() (code, msg string) {
	auth := x.r.Header.Get("Authorization")
	if key, ok := strings.CutPrefix(auth, "Bearer "); ok {
		if key != BedrockAPIKey {
			return "UnrecognizedClientException", "The security token included in the request is invalid."
		}
		return "", ""
	}
	fields, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "MissingAuthenticationTokenException", "Missing Authentication Token"
	}
	var credential, signedHeaders, signature string
	for f := range strings.SplitSeq(fields, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			signedHeaders = v
		case "Signature":
			signature = v
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[0] != AWSAccessKeyID {
		return "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	date := x.r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", date)
	if err != nil || scope[1] != date[:8] || scope[3] != "bedrock" || scope[4] != "aws4_request" {
		return "InvalidSignatureException", "Credential should be scoped to a valid date, region and the bedrock service."
	}
	if d := time.Since(t); d > 5*time.Minute || d < -5*time.Minute {
		return "InvalidSignatureException", "Signature expired: " + date + " is now earlier than the allowed time."
	}
	names := strings.Split(signedHeaders, ";")
	if !slices.Contains(names, "host") || !slices.Contains(names, "x-amz-date") {
		return "InvalidSignatureException", "The signed headers must include host and x-amz-date."
	}
	want := sigV4(x.canonicalRequest(names), date, strings.Join(scope[1:], "/"), scope[1], scope[2])
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method."
	}
	return "", ""
}

// canonicalRequest builds the canonical request of Signature Version 4
// from the request as received, path escaped once more (as for every
// service but S3).
func (x *exchange) canonicalRequest(names []string) string {
	path, _, _ := strings.Cut(x.r.RequestURI, "?")
	var b strings.Builder
	b.WriteString(x.r.Method + "\n" + awsEscape(path, false) + "\n")
	q, _ := url.ParseQuery(x.r.URL.RawQuery)
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, awsEscape(k, true)+"="+awsEscape(v, true))
		}
	}
	slices.Sort(pairs)
	b.WriteString(strings.Join(pairs, "&") + "\n")
	for _, n := range names {
		var v string
		switch n {
		case "host":
			v = x.r.Host
		case "content-length":
			v = strconv.FormatInt(x.r.ContentLength, 10)
		default:
			vs := x.r.Header.Values(n)
			for i := range vs {
				vs[i] = strings.Join(strings.Fields(vs[i]), " ")
			}
			v = strings.Join(vs, ",")
		}
		b.WriteString(n + ":" + v + "\n")
	}
	sum := sha256.Sum256(x.body)
	b.WriteString("\n" + strings.Join(names, ";") + "\n" + hex.EncodeToString(sum[:]))
	return b.String()
}

// sigV4 signs a canonical request for the scope.
func sigV4(canonical, date, scope, day, region string) string {
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + AWSSecretAccessKey)
	for _, s := range []string{day, region, "bedrock", "aws4_request"} {
		key = hmacSHA256(key, s)
	}
	return hex.EncodeToString(hmacSHA256(key, toSign))
}

func hmacSHA256(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

// awsEscape percent-encodes every byte but the unreserved ones (and "/"
// unless slash).
func awsEscape(s string, slash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 || c == '/' && !slash {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}
