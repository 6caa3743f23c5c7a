package aicache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/portico-dev/portico/aiclient"
)

// Key returns the exact-match key of req: a SHA-256 over its JSON with
// the keys of every object sorted (schemas and extra members included)
// and without the members that do not change the answer (user and
// metadata). A stream and a whole call of one request share a key.
func Key(req *aiclient.Request) (string, error) {
	b, err := normalize(req, false)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// normalize returns req as canonical JSON; withoutMessages leaves the
// conversation out, for the settings a semantic match must share.
func normalize(req *aiclient.Request, withoutMessages bool) ([]byte, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	delete(m, "user")
	delete(m, "metadata")
	if withoutMessages {
		delete(m, "messages")
	}
	// Marshalling a map sorts its keys, at every depth.
	return json.Marshal(m)
}

// scoped returns the store key of key in scope.
func scoped(scope, key string) string {
	s := sha256.Sum256([]byte(scope))
	return hex.EncodeToString(s[:8]) + ":" + key
}
