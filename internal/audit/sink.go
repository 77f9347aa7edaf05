// Package audit writes Tollgate's audit trail (docs/operations.md,
// "Audit log"): JSON lines through log/slog to a file that can be reopened
// for log rotation, or to standard output.
package audit

import (
	"io"
	"log/slog"
	"os"
	"sync"
)

// Sink is an io.Writer over a file that Reopen swaps for a fresh one
// (after logrotate moved the old one away). Writes are whole lines: slog
// handlers write each record with one Write call.
type Sink struct {
	path string // "" for standard output
	mu   sync.Mutex
	w    io.Writer
	f    *os.File
}

// Open opens path for appending (created 0600 if missing); "-" is
// standard output, which Reopen leaves alone.
func Open(path string) (*Sink, error) {
	if path == "-" {
		return &Sink{w: os.Stdout}, nil
	}
	s := &Sink{path: path}
	if err := s.Reopen(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reopen opens the path anew and closes the old file; on failure the old
// file stays in use.
func (s *Sink) Reopen() error {
	if s.path == "" {
		return nil
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	s.mu.Lock()
	old := s.f
	s.f, s.w = f, f
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

func (s *Sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Close closes the file (not standard output).
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f, s.w = nil, io.Discard
	return err
}

// Logger returns a JSON slog logger writing audit records to s.
func (s *Sink) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(s, nil))
}
