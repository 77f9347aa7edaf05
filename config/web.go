package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// WebService is one HTTP path service of a web or universal transport that
// is not WAMP: Crossbar's static, redirect, json and nodeinfo services.
// Handler (webserve.go) turns it into the http.Handler the router mounts.
type WebService struct {
	// Path is the HTTP path the service is mounted at ("/" or "/name"); it
	// serves that path and everything below it.
	Path string
	// Type is static, redirect, json or nodeinfo.
	Type string

	// static: the directory served (resolved against the config's
	// directory), whether directories without an index file are listed,
	// extra MIME types by extension (".ext" → type), the Cache-Control
	// max-age (Crossbar's cache_timeout, default 12 h; 0 = no-cache), and
	// the file served for paths that do not exist (single-page apps).
	Directory   string
	Listing     bool
	MIMETypes   map[string]string
	CacheMaxAge time.Duration
	DefaultFile string

	// redirect: where to.
	URL string

	// json: the value, and Crossbar's three options.
	JSON              []byte
	Prettify          bool
	AllowCrossOrigin  bool
	DiscourageCaching bool

	at position // where the service is configured, for Listeners' errors
}

// defaultStaticCache is Crossbar's cache_timeout default for static files.
const defaultStaticCache = 12 * time.Hour

// skippedWebServices are Crossbar path services Tollgate accepts but does
// not run: what the user loses, and the way forward.
var skippedWebServices = map[string]string{
	"longpoll":     "WAMP long-poll (for browsers without WebSocket) is not served; every current browser speaks WebSocket",
	"archive":      "files are not served from a ZIP archive; unpack it and use a static service",
	"resource":     "Python Twisted resources cannot run in Tollgate; serve that content from your own web server",
	"wsgi":         "Python WSGI apps cannot run in Tollgate; run the app in its own server (gunicorn, uwsgi) next to the router",
	"upload":       "the file upload service is not served; accept uploads in your own web service",
	"cgi":          "CGI scripts are not run; serve them from your own web server",
	"reverseproxy": "HTTP is not proxied; put a reverse proxy (nginx, caddy) in front of the router",
	"path":         "nested path services are not served; list the services directly under the transport's paths",
	"fileupload":   "the file upload service is not served; accept uploads in your own web service",
	"wap":          "WAMP application pages are not rendered; serve them from your own web server",
	"rest_caller":  "is not served",
	"catalog":      "XBR catalogs are not served",
	"registerme":   "the Crossbar master node's registration page is not served",
}

// refusedWebServices are Crossbar path services that would let HTTP
// clients act in a realm; they are refused until Tollgate implements them,
// since skipping them silently would change what gets routed.
var refusedWebServices = map[string]bool{"publisher": true, "caller": true, "webhook": true, "pusher": true}

// webService reads a non-WAMP path service mounted at pk into t.Web. Its
// type typ was read from tv (at tp); kn is the path's key node.
func (p *parser) webService(sm *mapping, typ string, tv *yaml.Node, tp, pk string, kn *yaml.Node, kp string, t *Transport) {
	switch {
	case refusedWebServices[typ]:
		p.errorf(tv, tp, "path service type %q (HTTP bridge) is not supported by Tollgate: it lets HTTP clients %s in a realm, and Tollgate does not implement it yet; use a WAMP client for that", typ, bridgeVerb(typ))
		consumeAll(sm)
		return
	case skippedWebServices[typ] != "":
		p.warnf(kn, kp, "skipped: path service type %q: %s", typ, skippedWebServices[typ])
		consumeAll(sm)
		return
	}
	ws := WebService{Path: pk, Type: typ, at: position{kn.Line, kn.Column, kp}}
	switch typ {
	case "static":
		p.staticService(sm, kp, &ws)
		if ws.Directory == "" {
			consumeAll(sm)
			return
		}
	case "redirect":
		if v, vp := sm.need("url"); v != nil {
			if s, ok := p.str(v, vp); ok {
				if s == "" {
					p.errorf(v, vp, "empty redirect URL")
				}
				ws.URL = s
			}
		}
	case "json":
		if v, vp := sm.need("value"); v != nil {
			ws.JSON = p.jsonValue(v, vp)
		}
		if v, vp := sm.get("options"); v != nil {
			if om := p.mapping(v, vp); om != nil {
				ws.Prettify = p.optBool(om, "prettify")
				ws.AllowCrossOrigin = p.optBool(om, "allow_cross_origin")
				ws.DiscourageCaching = p.optBool(om, "discourage_caching")
				om.done()
			}
		}
	case "nodeinfo":
	default:
		p.errorf(tv, tp, "unknown path service type %q (Tollgate serves websocket, metrics, static, redirect, json and nodeinfo; see docs/migrating-from-crossbar.md)", typ)
		consumeAll(sm)
		return
	}
	sm.done()
	t.Web = append(t.Web, ws)
}

func bridgeVerb(typ string) string {
	switch typ {
	case "publisher":
		return "publish"
	case "caller":
		return "call procedures"
	}
	return "publish webhook events"
}

// consumeAll marks every key of m as read (a skipped or refused service's
// keys are not checked one by one).
func consumeAll(m *mapping) {
	for _, f := range m.fields {
		f.used = true
	}
}

func (p *parser) staticService(sm *mapping, kp string, ws *WebService) {
	hasPackage := sm.has("package") || sm.has("resource")
	dv, dp := sm.get("directory")
	sm.get("package")
	sm.get("resource")
	switch {
	case dv != nil && hasPackage:
		p.errorf(sm.n, kp, "a static service has either directory or package + resource, not both")
		return
	case dv == nil && hasPackage:
		p.warnf(sm.keyNode("package"), join(kp, "package"), "skipped: static files from a Python package cannot be served by Tollgate; copy them into a directory and use directory")
		return
	case dv == nil:
		p.errorf(sm.n, kp, "missing required key \"directory\"")
		return
	}
	s, ok := p.str(dv, dp)
	if !ok {
		return
	}
	if s == "" {
		p.errorf(dv, dp, "empty directory")
		return
	}
	ws.CacheMaxAge = defaultStaticCache
	if v, vp := sm.get("options"); v != nil {
		if om := p.mapping(v, vp); om != nil {
			ws.Listing = p.optBool(om, "enable_directory_listing")
			if mv, mp := om.get("mime_types"); mv != nil {
				ws.MIMETypes = p.mimeTypes(mv, mp)
			}
			if cv, cp := om.get("cache_timeout"); cv != nil {
				if n := p.resolve(cv); n != nil && n.ShortTag() == "!!null" {
					ws.CacheMaxAge = 0
				} else if secs, good := p.integer(cv, cp, 0, math.MaxInt32); good {
					ws.CacheMaxAge = time.Duration(secs) * time.Second
				}
			}
			if fv, fp := om.get("default_file"); fv != nil {
				if f, good := p.str(fv, fp); good {
					if f == "" || strings.Contains(f, "..") || strings.HasPrefix(f, "/") {
						p.errorf(fv, fp, "default_file %q must be a file name inside the directory", f)
					} else {
						ws.DefaultFile = f
					}
				}
			}
			om.done()
		}
	}
	ws.Directory = p.abs(s)
	if _, err := os.Stat(ws.Directory); errors.Is(err, fs.ErrNotExist) {
		p.warnf(dv, dp, "directory %s does not exist: every request under this path gets 404 until it exists and the router restarts", ws.Directory)
	}
}

func (p *parser) mimeTypes(n *yaml.Node, path string) map[string]string {
	m := p.mapping(n, path)
	if m == nil {
		return nil
	}
	out := map[string]string{}
	m.each(func(ext string, kn, val *yaml.Node, kp string) {
		if !strings.HasPrefix(ext, ".") {
			ext = "." + ext // Crossbar's examples write both "png" and ".png"
		}
		if len(ext) < 2 {
			p.errorf(kn, kp, "empty MIME type extension")
			return
		}
		if s, ok := p.str(val, kp); ok {
			out[strings.ToLower(ext)] = s
		}
	})
	return out
}

// jsonValue encodes a YAML value as JSON (a json service's answer).
func (p *parser) jsonValue(n *yaml.Node, path string) []byte {
	n = p.resolve(n)
	if n == nil {
		return nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		p.errorf(n, path, "cannot read the value: %v", err)
		return nil
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		p.errorf(n, path, "cannot encode the value as JSON: %v", err)
		return nil
	}
	return b
}

// jsonable turns YAML's map[string]any/[]any tree into one encoding/json
// accepts (YAML may key maps by non-strings).
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any: // YAML keys that are not strings
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	}
	return v
}
