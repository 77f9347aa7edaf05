package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// crossbarMIMETypes are the types Crossbar adds to the system's for static
// files; a service's mime_types override them.
var crossbarMIMETypes = map[string]string{".svg": "image/svg+xml", ".jgz": "text/javascript"}

// Handler returns the http.Handler serving ws. version is reported by
// nodeinfo. A static service's directory is opened here, confined with
// os.Root: no path (.., symlinks) reaches outside it.
func (ws WebService) Handler(version string) (http.Handler, error) {
	switch ws.Type {
	case "static":
		root, err := os.OpenRoot(ws.Directory)
		if errors.Is(err, fs.ErrNotExist) {
			return http.NotFoundHandler(), nil // Parse warned about it
		}
		if err != nil {
			return nil, fmt.Errorf("static service at %s: %w", ws.Path, err)
		}
		return &staticHandler{ws: ws, fsys: root.FS()}, nil
	case "redirect":
		return http.RedirectHandler(ws.URL, http.StatusFound), nil
	case "json":
		body := ws.JSON
		if ws.Prettify {
			var b bytes.Buffer
			if err := json.Indent(&b, body, "", "  "); err == nil {
				body = b.Bytes()
			}
		}
		return jsonHandler{ws: ws, body: body}, nil
	case "nodeinfo":
		body, _ := json.Marshal(map[string]string{"server": "tollgate", "version": version})
		return jsonHandler{ws: WebService{DiscourageCaching: true}, body: body}, nil
	}
	return nil, fmt.Errorf("path service type %q has no handler", ws.Type)
}

type jsonHandler struct {
	ws   WebService
	body []byte
}

func (h jsonHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	if h.ws.AllowCrossOrigin {
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Access-Control-Allow-Credentials", "true")
	}
	if h.ws.DiscourageCaching {
		hd.Set("Cache-Control", "no-store, must-revalidate")
		hd.Set("Expires", "0")
	}
	hd.Set("Content-Length", strconv.Itoa(len(h.body)))
	if r.Method == http.MethodGet {
		w.Write(h.body)
	}
}

// staticHandler serves files below the mount path from one directory:
// index.html for directories, a listing only when enabled, default_file
// for paths that do not exist, Cache-Control from cache_timeout.
type staticHandler struct {
	ws   WebService
	fsys fs.FS
}

func (h *staticHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rel := strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(h.ws.Path, "/"))
	name := strings.TrimPrefix(path.Clean("/"+rel), "/")
	if name == "" {
		name = "."
	}
	f, info, err := h.open(name)
	if errors.Is(err, fs.ErrNotExist) && h.ws.DefaultFile != "" {
		name = h.ws.DefaultFile
		f, info, err = h.open(name)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
		} else {
			http.Error(w, "forbidden", http.StatusForbidden)
		}
		return
	}
	defer f.Close()
	if info.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
			return
		}
		idx, idxInfo, err := h.open(path.Join(name, "index.html"))
		if err != nil {
			if h.ws.Listing {
				h.list(w, f)
				return
			}
			http.NotFound(w, r)
			return
		}
		f.Close()
		f, info, name = idx, idxInfo, path.Join(name, "index.html")
	}
	if ct := h.contentType(name); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	h.cacheHeaders(w)
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		http.Error(w, "cannot read file", http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, info.Name(), info.ModTime(), rs)
}

func (h *staticHandler) open(name string) (fs.File, fs.FileInfo, error) {
	f, err := h.fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

func (h *staticHandler) contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := h.ws.MIMETypes[ext]; ok {
		return t
	}
	if t, ok := crossbarMIMETypes[ext]; ok {
		return t
	}
	return mime.TypeByExtension(ext)
}

func (h *staticHandler) cacheHeaders(w http.ResponseWriter) {
	if h.ws.CacheMaxAge <= 0 {
		w.Header().Set("Cache-Control", "no-cache")
		return
	}
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(h.ws.CacheMaxAge/time.Second)))
}

func (h *staticHandler) list(w http.ResponseWriter, dir fs.File) {
	rd, ok := dir.(fs.ReadDirFile)
	if !ok {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	entries, err := rd.ReadDir(-1)
	if err != nil {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	var b strings.Builder
	b.WriteString("<!doctype html>\n<pre>\n")
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		fmt.Fprintf(&b, "<a href=\"%s\">%s</a>\n", html.EscapeString(url.PathEscape(e.Name())+dirSlash(e)), html.EscapeString(n))
	}
	b.WriteString("</pre>\n")
	w.Write([]byte(b.String()))
}

func dirSlash(e fs.DirEntry) string {
	if e.IsDir() {
		return "/"
	}
	return ""
}
