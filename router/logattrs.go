package router

import (
	"context"
	"log/slog"
	"sync"
)

// lazyAttrs is a slog.Handler that adds attrs to h only when a record is
// first handled. Every connection's logger carries its remote address,
// transport and serializer, and slog's handlers format such attrs at
// With time; most connections never log, so they skip that.
type lazyAttrs struct {
	h     slog.Handler
	src   attrSource
	once  sync.Once
	built slog.Handler
}

// attrSource gives a logger's attrs when it first logs. Connections and
// sessions are their own (conn.logAttrs, session.logAttrs), so an idle
// one holds no attr slice or boxed values, only the handler.
type attrSource interface{ logAttrs() []slog.Attr }

type attrList []slog.Attr

func (a attrList) logAttrs() []slog.Attr { return a }

func withLazyAttrs(l *slog.Logger, attrs ...slog.Attr) *slog.Logger {
	return lazyLogger(l, attrList(attrs))
}

// lazyLogger is l with src's attrs, formatted when it first logs.
func lazyLogger(l *slog.Logger, src attrSource) *slog.Logger {
	return slog.New(&lazyAttrs{h: l.Handler(), src: src})
}

func (l *lazyAttrs) handler() slog.Handler {
	l.once.Do(func() {
		h := l.h
		if parent, ok := h.(*lazyAttrs); ok {
			h = parent.handler() // a session's logger under its connection's
		}
		l.built = h.WithAttrs(l.src.logAttrs())
	})
	return l.built
}

func (l *lazyAttrs) Enabled(ctx context.Context, level slog.Level) bool {
	return l.h.Enabled(ctx, level)
}

func (l *lazyAttrs) Handle(ctx context.Context, r slog.Record) error {
	return l.handler().Handle(ctx, r)
}

// WithAttrs stays lazy: a session's logger adds its own attrs to its
// connection's, and neither is formatted until one of them logs.
func (l *lazyAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lazyAttrs{h: l, src: attrList(attrs)}
}

func (l *lazyAttrs) WithGroup(name string) slog.Handler { return l.handler().WithGroup(name) }
