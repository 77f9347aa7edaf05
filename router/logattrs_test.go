package router

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLazyAttrs(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l := withLazyAttrs(base, slog.String("remote", "127.0.0.1:1"), slog.String("transport", "websocket"))
	l.Debug("not enabled")
	if h := l.Handler().(*lazyAttrs); h.built != nil || buf.Len() != 0 {
		t.Fatalf("a disabled record built the handler or wrote %q", buf.String())
	}
	sl := l.With("k", "v")
	if h := l.Handler().(*lazyAttrs); h.built != nil {
		t.Fatal("With built the connection's handler before anything logged")
	}
	sl.Info("hello")
	l.Info("again")
	out := buf.String()
	if strings.Count(out, "remote=127.0.0.1:1 transport=websocket") != 2 || !strings.Contains(out, "k=v msg") && !strings.Contains(out, "k=v") {
		t.Fatalf("attrs missing:\n%s", out)
	}
}
