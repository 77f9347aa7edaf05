package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/tollgate-wamp/tollgate/auth"
)

// maxPassword bounds what passwd reads from stdin.
const maxPassword = 64 << 10

// runPasswd hashes a password with argon2id for a static ticket principal.
// From a terminal it prompts twice without echo; otherwise it reads the
// first line of stdin, or all of it with --password-stdin.
func runPasswd(_ context.Context, args []string, s stdio) int {
	fs := flag.NewFlagSet("tollgate passwd", flag.ContinueOnError)
	fs.SetOutput(s.errOut)
	fromStdin := fs.Bool("password-stdin", false, "read the password from stdin (all of it, without a trailing newline) instead of prompting")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(s.errOut, "tollgate passwd: unexpected argument %q (the password is read from stdin)\n", fs.Arg(0))
		return exitUsage
	}
	var (
		pw  string
		err error
	)
	switch f, ok := s.in.(*os.File); {
	case !*fromStdin && ok && term.IsTerminal(int(f.Fd())):
		pw, err = promptPassword(f, s.errOut)
	case *fromStdin:
		pw, err = readAll(s.in)
	default:
		pw, err = readLine(s.in)
	}
	if err == nil && pw == "" {
		err = errors.New("empty password")
	}
	if err != nil {
		fmt.Fprintf(s.errOut, "tollgate passwd: %v\n", err)
		return exitFail
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		fmt.Fprintf(s.errOut, "tollgate passwd: %v\n", err)
		return exitFail
	}
	fmt.Fprintln(s.out, hash)
	return exitOK
}

func promptPassword(f *os.File, prompt io.Writer) (string, error) {
	read := func(label string) (string, error) {
		fmt.Fprint(prompt, label)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("reading password: %w", err)
		}
		return string(b), nil
	}
	pw, err := read("Password: ")
	if err != nil || pw == "" {
		return pw, err
	}
	again, err := read("Repeat password: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("passwords do not match")
	}
	return pw, nil
}

// readLine returns the first line of r without its line ending.
func readLine(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxPassword+2), 4096)
	line, err := br.ReadString('\n')
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		if len(line) > maxPassword {
			return "", fmt.Errorf("password longer than %d bytes", maxPassword)
		}
	default:
		return "", fmt.Errorf("reading password: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if len(line) > maxPassword {
		return "", fmt.Errorf("password longer than %d bytes", maxPassword)
	}
	return line, nil
}

// readAll returns all of r without one trailing line ending.
func readAll(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPassword+3))
	if err != nil {
		return "", fmt.Errorf("reading password: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) > maxPassword {
		return "", fmt.Errorf("password longer than %d bytes", maxPassword)
	}
	return string(b), nil
}

// runKeygen prints a new Ed25519 key pair for cryptosign, or writes the
// private key to --out (mode 0600, never overwriting) and prints the
// public key.
func runKeygen(_ context.Context, args []string, s stdio) int {
	fs := flag.NewFlagSet("tollgate keygen", flag.ContinueOnError)
	fs.SetOutput(s.errOut)
	out := fs.String("out", "", "write the private key (hex seed) to `FILE`, created with mode 0600; it must not exist")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(s.errOut, "tollgate keygen: unexpected argument %q (use --out FILE)\n", fs.Arg(0))
		return exitUsage
	}
	pub, priv := auth.GenerateKey()
	if *out == "" {
		fmt.Fprintf(s.out, "public key (for authorized_keys): %s\n", pub)
		fmt.Fprintf(s.out, "private key (secret, for the client): %s\n", priv)
		return exitOK
	}
	if err := writeNew(*out, priv+"\n"); err != nil {
		fmt.Fprintf(s.errOut, "tollgate keygen: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(s.out, "public key (for authorized_keys): %s\n", pub)
	fmt.Fprintf(s.out, "private key written to %s (mode 0600)\n", *out)
	return exitOK
}

// writeNew creates name with mode 0600 and writes text; an existing file
// is an error, so a key is never overwritten by accident.
func writeNew(name, text string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}
