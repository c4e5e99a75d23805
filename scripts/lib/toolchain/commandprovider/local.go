package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// result is what one run produced. assets/archive are filled only for local commands with assetPaths or
// archivePaths (relative path -> local file).
type result struct {
	stdout, stderr  string
	assets, archive map[string]string
}

func loggingFlags(logging string) (stdout, stderr bool) {
	switch logging {
	case "none":
		return false, false
	case "stdout":
		return true, false
	case "stderr":
		return false, true
	}
	return true, true
}

// lockedWriter fans one stream out to several buffers; stdout and stderr share the lock so the interleaved
// copy used in error messages keeps the order the lines arrived in.
type lockedWriter struct {
	mu  *sync.Mutex
	dst []io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range w.dst {
		if _, err := d.Write(p); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// streams returns writers for stdout and stderr plus a function that flushes the log stream and returns
// what was captured. Logged lines go to the engine as status messages on the resource, as upstream does.
func (s *server) streams(ctx context.Context, urn string, logging string) (io.Writer, io.Writer,
	func() (result, string),
) {
	var mu sync.Mutex
	var stdout, stderr, both bytes.Buffer
	pr, pw := io.Pipe()
	logOut, logErr := loggingFlags(logging)
	outW := []io.Writer{&stdout, &both}
	errW := []io.Writer{&stderr, &both}
	if logOut {
		outW = append(outW, pw)
	}
	if logErr {
		errW = append(errW, pw)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			if s.host != nil && urn != "" {
				_ = s.host.LogStatus(ctx, diag.Info, resource.URN(urn), sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	finish := func() (result, string) {
		_ = pw.Close()
		<-done
		return result{
			stdout: strings.TrimSuffix(stdout.String(), "\n"),
			stderr: strings.TrimSuffix(stderr.String(), "\n"),
		}, both.String()
	}
	return lockedWriter{&mu, outW}, lockedWriter{&mu, errW}, finish
}

// previousOutputEnv returns PULUMI_COMMAND_STDOUT/STDERR from the last run unless addPreviousOutputInEnv is false.
func previousOutputEnv(inputs, olds resource.PropertyMap) map[string]string {
	env := map[string]string{}
	if !boolOr(inputs, "addPreviousOutputInEnv", true) {
		return env
	}
	if v := str(olds, "stdout"); v != "" {
		env["PULUMI_COMMAND_STDOUT"] = v
	}
	if v := str(olds, "stderr"); v != "" {
		env["PULUMI_COMMAND_STDERR"] = v
	}
	return env
}

func runLocal(ctx context.Context, s *server, urn, command string, inputs, olds resource.PropertyMap,
) (result, error) {
	args := strList(inputs, "interpreter")
	if len(args) == 0 {
		args = []string{"/bin/sh", "-c"}
	}
	args = append(args, command)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = str(inputs, "dir")
	if cmd.Dir == "" {
		cmd.Dir, _ = os.Getwd()
	}
	cmd.Env = os.Environ()
	for k, v := range strMap(inputs, "environment") {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range previousOutputEnv(inputs, olds) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if stdin := str(inputs, "stdin"); stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var finish func() (result, string)
	cmd.Stdout, cmd.Stderr, finish = s.streams(ctx, urn, str(inputs, "logging"))
	err := cmd.Run()
	out, both := finish()
	if err != nil {
		return out, fmt.Errorf("%w: running %q:\n%s", err, command, both)
	}
	if has(inputs, "assetPaths") {
		if out.assets, err = globAssets(cmd.Dir, strList(inputs, "assetPaths")); err != nil {
			return out, err
		}
	}
	if has(inputs, "archivePaths") {
		if out.archive, err = globAssets(cmd.Dir, strList(inputs, "archivePaths")); err != nil {
			return out, err
		}
	}
	return out, nil
}

// globToRegexp translates upstream's glob rules: `*` matches within one path segment, `**` across segments.
func globToRegexp(g string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		switch c := g[i]; {
		case c == '*' && i+1 < len(g) && g[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// globAssets lists files under dir matching the globs, in order, with `!` globs excluding earlier matches.
func globAssets(dir string, globs []string) (map[string]string, error) {
	type rule struct {
		re      *regexp.Regexp
		exclude bool
	}
	var rules []rule
	for _, g := range globs {
		re, err := globToRegexp(strings.TrimPrefix(g, "!"))
		if err != nil {
			return nil, fmt.Errorf("bad glob %q: %w", g, err)
		}
		rules = append(rules, rule{re, strings.HasPrefix(g, "!")})
	}
	found := map[string]string{}
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, r := range rules {
			if r.re.MatchString(p) {
				if r.exclude {
					delete(found, p)
				} else {
					found[p] = path.Join(dir, p)
				}
			}
		}
		return nil
	})
	return found, err
}
