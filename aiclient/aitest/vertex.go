package aitest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// vertexPath matches a Vertex AI model method: version, project,
// location, model and method.
var vertexPath = regexp.MustCompile(`^/(v1|v1beta1)/projects/([^/]+)/locations/([^/]+)/publishers/google/models/([^/:]+):(\w+)$`)

const cloudPlatform = "https://www.googleapis.com/auth/cloud-platform"

// Token issues an access token the server accepts, as if its token
// endpoint had, for tests that inject a token source.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		s.tokens = map[string]bool{}
	}
	tok := "ya29.aitest-" + strconv.Itoa(len(s.tokens)+1)
	s.tokens[tok] = true
	return tok
}

// ServiceAccount returns a service account key file (the JSON a Google
// Cloud console download holds) whose token_uri is the server's token
// endpoint, which accepts assertions signed with its key. The key is made
// on the first call.
func (s *Server) ServiceAccount() []byte {
	key := s.serviceKey()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic("portico/aitest: " + err.Error())
	}
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "aitest-project", "private_key_id": "aitest-key-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "aitest@aitest-project.iam.gserviceaccount.com", "client_id": "100000000000000000001",
		"token_uri": s.srv.URL + "/token", "universe_domain": "googleapis.com",
	})
	return b
}

func (s *Server) serviceKey() *rsa.PrivateKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saKey == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("portico/aitest: " + err.Error())
		}
		s.saKey = k
	}
	return s.saKey
}

func (x *exchange) vertex() {
	if x.r.URL.Path == "/token" {
		x.vertexToken()
		return
	}
	m := vertexPath.FindStringSubmatch(x.r.URL.Path)
	if m == nil {
		x.geminiError(http.StatusNotFound, "", "aitest: no Vertex AI endpoint at "+x.r.URL.Path)
		return
	}
	tok, _ := strings.CutPrefix(x.r.Header.Get("Authorization"), "Bearer ")
	x.s.mu.Lock()
	ok := x.s.tokens[tok]
	x.s.mu.Unlock()
	if !ok {
		x.geminiError(http.StatusUnauthorized, "", "Request had invalid authentication credentials. Expected OAuth 2 access token, "+
			"login cookie or other valid authentication credential.")
		return
	}
	model, method := m[4], m[5]
	switch method {
	case "generateContent", "streamGenerateContent":
		x.geminiGenerate(model, method)
	case "predict":
		if !x.take(x.geminiError) {
			return
		}
		x.vertexPredict()
	default:
		x.geminiError(http.StatusNotFound, "", "aitest: no Vertex AI method "+method)
	}
}

// vertexPredict answers a text-embedding predict call.
func (x *exchange) vertexPredict() {
	var req struct {
		Instances []struct {
			Content string `json:"content"`
		} `json:"instances"`
	}
	_ = json.Unmarshal(x.body, &req)
	var inputs []string
	for _, in := range req.Instances {
		inputs = append(inputs, in.Content)
	}
	var preds []any
	for i, v := range x.vectors(inputs) {
		n := 0
		if i < len(inputs) {
			n = len(strings.Fields(inputs[i]))
		}
		preds = append(preds, map[string]any{"embeddings": map[string]any{"values": v,
			"statistics": map[string]any{"token_count": n, "truncated": false}}})
	}
	x.writeJSON(http.StatusOK, map[string]any{"predictions": preds, "metadata": map[string]any{"billableCharacterCount": 1}})
}

// vertexToken is the OAuth 2.0 token endpoint's JWT-bearer grant: the
// assertion must be signed by the service account's key, issued by its
// email, for this endpoint, asking for the cloud-platform scope.
func (x *exchange) vertexToken() {
	fail := func(desc string) {
		x.writeJSON(http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": desc})
	}
	form, err := url.ParseQuery(string(x.body))
	if err != nil || form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		x.writeJSON(http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type", "error_description": "Invalid grant_type."})
		return
	}
	parts := strings.Split(form.Get("assertion"), ".")
	if len(parts) != 3 {
		fail("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.")
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(&x.s.serviceKey().PublicKey, crypto.SHA256, sum[:], sig) != nil {
		fail("Invalid JWT Signature.")
		return
	}
	var claims struct {
		Iss   string `json:"iss"`
		Aud   string `json:"aud"`
		Scope string `json:"scope"`
		Exp   int64  `json:"exp"`
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(raw, &claims)
	switch {
	case claims.Iss != "aitest@aitest-project.iam.gserviceaccount.com":
		fail("Invalid JWT: unknown issuer.")
	case claims.Aud != "http://"+x.r.Host+"/token":
		fail("Invalid JWT: the audience is not this token endpoint.")
	case !strings.Contains(" "+claims.Scope+" ", " "+cloudPlatform+" "):
		fail("Invalid JWT: the scope " + cloudPlatform + " is missing.")
	case time.Unix(claims.Exp, 0).Before(time.Now()):
		fail("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.")
	default:
		x.writeJSON(http.StatusOK, map[string]any{"access_token": x.s.Token(), "expires_in": 3599, "token_type": "Bearer"})
	}
}
