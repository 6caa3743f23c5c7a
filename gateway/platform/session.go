package platform

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Admin sessions: a person signs in once with the admin token (through the
// form at /login, or a one-time link from [Platform.LoginLink]) and the
// browser then carries an HttpOnly, SameSite=Strict cookie. Sessions live in
// the memory of the replica that made them; a restart signs everyone out.
const (
	sessionCookie = "portico_admin"
	sessionTTL    = 12 * time.Hour
	loginLinkTTL  = 15 * time.Minute
	csrfHeader    = "X-CSRF-Token"
	csrfField     = "csrf"
)

type session struct {
	actor   string
	csrf    string
	expires time.Time
}

// sessions holds the signed-in browsers and the unused login links, both
// by the SHA-256 of their secret, so the memory holds no usable secret.
type sessions struct {
	mu    sync.Mutex
	live  map[[32]byte]session
	links map[[32]byte]session
}

// start begins a session for actor and returns its cookie value.
func (s *sessions) start(actor string, now time.Time) string {
	id := randomHex(32)
	s.put(&s.live, id, session{actor: actor, csrf: randomHex(16), expires: now.Add(sessionTTL)}, now)
	return id
}

// link makes a one-time login code for actor.
func (s *sessions) link(actor string, now time.Time) string {
	code := randomHex(24)
	s.put(&s.links, code, session{actor: actor, expires: now.Add(loginLinkTTL)}, now)
	return code
}

// put stores v in *m under the hash of secret, dropping the expired
// entries first so that the map stays small.
func (s *sessions) put(m *map[[32]byte]session, secret string, v session, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if *m == nil {
		*m = make(map[[32]byte]session)
	}
	for k, old := range *m {
		if now.After(old.expires) {
			delete(*m, k)
		}
	}
	(*m)[sha256.Sum256([]byte(secret))] = v
}

func (s *sessions) find(id string, now time.Time) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := sha256.Sum256([]byte(id))
	v, ok := s.live[h]
	if ok && now.After(v.expires) {
		delete(s.live, h)
		return session{}, false
	}
	return v, ok
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, sha256.Sum256([]byte(id)))
}

// redeem uses up a login link's code.
func (s *sessions) redeem(code string, now time.Time) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := sha256.Sum256([]byte(code))
	v, ok := s.links[h]
	delete(s.links, h)
	if !ok || now.After(v.expires) {
		return "", false
	}
	return v.actor, true
}

// LoginLink returns a code that signs one browser in as actor, once,
// within 15 minutes: open "<admin mount>/login?code=<code>". A program that
// starts a gateway prints it so that a person reaches the console without
// copying the admin token. It panics on an empty actor.
func (p *Platform) LoginLink(actor string) string {
	if actor == "" {
		panic("portico/platform: LoginLink needs an actor")
	}
	return p.sess.link(actor, p.now())
}

// base returns the path the admin handler is mounted at ("" at the root,
// "/platform" under the gateway's admin listener): the request URI less
// the path the handler sees once http.StripPrefix took the mount point.
func base(r *http.Request) string {
	uri := r.RequestURI
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if u, err := url.Parse(uri); err == nil && u.Path != "" {
		uri = u.EscapedPath()
	}
	if rest := r.URL.EscapedPath(); strings.HasSuffix(uri, rest) {
		return uri[:len(uri)-len(rest)]
	}
	return ""
}

// safeNext keeps a post-login redirect inside the admin handler. It
// refuses backslashes, spaces and control characters, which browsers drop
// or read as slashes ("/\t/host" is "//host" to a browser).
func safeNext(r *http.Request, next string) string {
	b := base(r)
	if next == "" || !strings.HasPrefix(next, b+"/") || strings.HasPrefix(next, "//") || strings.ContainsFunc(next, unsafeInPath) {
		return b + "/"
	}
	return next
}

func unsafeInPath(c rune) bool { return c <= ' ' || c == 0x7f || c == '\\' }

func (p *Platform) setSession(w http.ResponseWriter, r *http.Request, actor string) {
	id := p.sess.start(actor, p.now())
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: base(r) + "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL / time.Second),
	})
}

// serveLogin answers GET /login (the form, or a login link's code) and
// POST /login (the form's token).
func (p *Platform) serveLogin(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r, r.FormValue("next"))
	if r.Method == http.MethodGet {
		code := r.URL.Query().Get("code")
		if code == "" {
			p.renderLogin(w, r, http.StatusOK, next, "")
			return
		}
		actor, ok := p.sess.redeem(code, p.now())
		if !ok {
			p.renderLogin(w, r, http.StatusUnauthorized, next, "This login link was used already or has expired. Sign in with the admin token.")
			return
		}
		p.setSession(w, r, actor)
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	actor, ok := p.tokenActor(strings.TrimSpace(r.PostFormValue("token")))
	if !ok {
		p.renderLogin(w, r, http.StatusUnauthorized, next, "That is not an admin token.")
		return
	}
	p.setSession(w, r, actor)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (p *Platform) renderLogin(w http.ResponseWriter, r *http.Request, status int, next, msg string) {
	p.renderStatus(w, r, status, "login.html", map[string]any{"Title": p.title, "Base": base(r), "Next": next, "Error": msg})
}

// serveLogout ends the browser's session (POST /logout, with its CSRF token).
func (p *Platform) serveLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		p.sess.end(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: base(r) + "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, base(r)+"/login", http.StatusSeeOther)
}

// sessionActor authenticates a request by its session cookie. A change
// (any method but GET, HEAD and OPTIONS) must also carry the session's
// CSRF token in the X-CSRF-Token header or the csrf form field; csrfOK
// reports whether it did.
func (p *Platform) sessionActor(r *http.Request) (actor, csrf string, found, csrfOK bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", "", false, false
	}
	s, ok := p.sess.find(c.Value, p.now())
	if !ok {
		return "", "", false, false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return s.actor, s.csrf, true, true
	}
	got := r.Header.Get(csrfHeader)
	if got == "" && isForm(r) {
		got = r.PostFormValue(csrfField)
	}
	return s.actor, s.csrf, true, subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}
