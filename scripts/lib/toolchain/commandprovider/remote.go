package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// clientConfig builds the SSH client settings for one hop (the target or its proxy), as upstream's SSHConfig.
func clientConfig(c resource.PropertyMap) (*ssh.ClientConfig, error) {
	cfg := &ssh.ClientConfig{
		User:    str(c, "user"),
		Timeout: time.Duration(numOr(c, "perDialTimeout", 15)) * time.Second,
		// Upstream checks no host key unless hostKey is given; the design notes ask callers to set it.
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // upstream's documented default
	}
	if has(c, "hostKey") {
		// Upstream: authorized_keys format only, and only the pinned key's algorithm is offered. For a pinned
		// ssh-rsa key that is SHA-1 "ssh-rsa", which OpenSSH >= 8.8 no longer accepts.
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(str(c, "hostKey")))
		if err != nil {
			return nil, fmt.Errorf("failed to parse host key: %w", err)
		}
		cfg.HostKeyCallback = ssh.FixedHostKey(key)
		cfg.HostKeyAlgorithms = []string{key.Type()}
	}
	if has(c, "privateKey") {
		var signer ssh.Signer
		var err error
		if has(c, "privateKeyPassword") {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(str(c, "privateKey")), []byte(str(c, "privateKeyPassword")))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(str(c, "privateKey")))
		}
		if err != nil {
			return nil, err
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	if has(c, "password") {
		pw := str(c, "password")
		cfg.Auth = append(cfg.Auth, ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
				answers := make([]string, len(qs))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	// Like upstream, the provider process's SSH_AUTH_SOCK is used when agentSocketPath is unset, and an agent
	// that cannot be reached fails the connection rather than being skipped.
	sock, set := str(c, "agentSocketPath"), has(c, "agentSocketPath")
	if !set {
		sock = os.Getenv("SSH_AUTH_SOCK")
		set = sock != ""
	}
	if set {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, err
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	return cfg, nil
}

func endpoint(c resource.PropertyMap) string {
	return net.JoinHostPort(str(c, "host"), strconv.Itoa(int(numOr(c, "port", 22))))
}

// retryDial is upstream's dialWithRetry: the first attempt plus up to dialErrorLimit retries (-1: forever), 100 ms
// apart growing 1.5x to at most 5 s, a status line per failed attempt, and upstream's message at the end.
func (s *server) retryDial(ctx context.Context, urn, what string, limit int, f func() error) error {
	delay := 100 * time.Millisecond
	for try := 0; ; try++ {
		err := f()
		if err == nil {
			return nil
		}
		dials := try + 1
		if limit > -1 && dials > limit {
			return fmt.Errorf("after %d failed attempts: %w", try, err)
		}
		max := "inf"
		if limit != -1 {
			max = strconv.Itoa(limit)
		}
		if s.host != nil && urn != "" {
			_ = s.host.LogStatus(ctx, diag.Info, resource.URN(urn),
				fmt.Sprintf("%s %d/%s failed: retrying", what, dials, max))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		if delay = delay * 3 / 2; delay > 5*time.Second {
			delay = 5 * time.Second
		}
	}
}

// dial connects to connection.host, through connection.proxy when one is set, in upstream's three retried phases:
// the proxy, a TCP connection from the proxy to the target, and the SSH handshake over that one connection (so a
// failed handshake through a proxy is retried on a connection it already closed, as upstream does).
func (s *server) dial(ctx context.Context, urn string, conn resource.PropertyMap) (*ssh.Client, error) {
	cfg, err := clientConfig(conn)
	if err != nil {
		return nil, err
	}
	limit := int(numOr(conn, "dialErrorLimit", 10))
	var client *ssh.Client
	proxy := object(conn, "proxy")
	if proxy == nil {
		err = s.retryDial(ctx, urn, "Dial", limit, func() (e error) {
			client, e = ssh.Dial("tcp", endpoint(conn), cfg)
			return e
		})
		return client, err
	}
	pcfg, err := clientConfig(proxy)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	var proxyClient *ssh.Client
	err = s.retryDial(ctx, urn, "Dial proxy", int(numOr(proxy, "dialErrorLimit", 10)), func() (e error) {
		proxyClient, e = ssh.Dial("tcp", endpoint(proxy), pcfg)
		return e
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	var nc net.Conn
	err = s.retryDial(ctx, urn, "Dial from proxy", limit, func() (e error) {
		nc, e = proxyClient.Dial("tcp", endpoint(conn))
		return e
	})
	if err != nil {
		_ = proxyClient.Close()
		return nil, fmt.Errorf("proxy: %w", err)
	}
	err = s.retryDial(ctx, urn, "Dial", limit, func() error {
		c, chans, reqs, e := ssh.NewClientConn(nc, endpoint(conn), cfg)
		if e != nil {
			return e
		}
		client = ssh.NewClient(c, chans, reqs)
		return nil
	})
	if err != nil {
		_ = proxyClient.Close()
		return nil, fmt.Errorf("proxy: %w", err)
	}
	return client, nil
}

const setenvHint = "This only works if the SSH server accepts the variable (AcceptEnv in sshd_config); " +
	"alternatively export it inside the command itself"

func runRemote(ctx context.Context, s *server, urn, command string, inputs, olds resource.PropertyMap,
) (result, error) {
	client, err := s.dial(ctx, urn, object(inputs, "connection"))
	if err != nil {
		return result{}, err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return result{}, err
	}
	defer session.Close()
	for k, v := range strMap(inputs, "environment") {
		if err := session.Setenv(k, v); err != nil {
			return result{}, fmt.Errorf("could not set environment variable %q: %s: %w", k, setenvHint, err)
		}
	}
	for k, v := range previousOutputEnv(inputs, olds) {
		if err := session.Setenv(k, v); err != nil {
			s.logf(ctx, diag.Warning, urn, "Unable to set '%s'. %s", k, setenvHint)
		}
	}
	if stdin := str(inputs, "stdin"); stdin != "" {
		session.Stdin = strings.NewReader(stdin)
	}
	var finish func() (result, string)
	session.Stdout, session.Stderr, finish = s.streams(ctx, urn, str(inputs, "logging"))
	done := make(chan error, 1)
	go func() { done <- session.Run(command) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = session.Signal(ssh.SIGTERM)
		_ = client.Close()
		err = <-done
	}
	out, both := finish()
	if err != nil {
		return out, fmt.Errorf("%w: running %q:\n%s", err, command, both)
	}
	return out, nil
}

// quote makes s one word for a POSIX shell.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'" }

// remoteSh runs a short shell snippet on the host, feeding stdin, and returns its trimmed stdout.
func remoteSh(client *ssh.Client, script string, stdin *os.File) (string, error) {
	session, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer session.Close()
	if stdin != nil {
		session.Stdin = stdin
	}
	out, err := session.CombinedOutput(script)
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// copyToRemote copies a path asset (a file) or path archive (a directory) with upstream's rules:
// file -> dest, or dest/<file> when dest is a directory; dir -> dest/<dir>; "dir/" -> dest/<each entry>.
// It streams through the remote shell rather than SFTP, so hosts without the SFTP subsystem work too.
func copyToRemote(ctx context.Context, s *server, urn resource.URN, inputs resource.PropertyMap) error {
	src := plain(inputs["source"])
	var source string
	switch {
	case src.IsAsset() && src.AssetValue().IsPath():
		source = src.AssetValue().Path
	case src.IsArchive() && src.ArchiveValue().IsPath():
		source = src.ArchiveValue().Path
	default:
		return fmt.Errorf("source must be a pulumi.asset.FileAsset or a pulumi.asset.FileArchive of a path")
	}
	dest := str(inputs, "remotePath")
	info, err := os.Stat(source)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	client, err := s.dial(ctx, string(urn), object(inputs, "connection"))
	if err != nil {
		return err
	}
	defer client.Close()
	kind, err := remoteSh(client, "if [ -d "+quote(dest)+" ]; then echo dir; elif [ -e "+quote(dest)+
		" ]; then echo file; else echo none; fi", nil)
	if err != nil {
		return fmt.Errorf("checking remote path %s: %w", dest, err)
	}
	put := func(local, remote string) error {
		f, err := os.Open(local)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = remoteSh(client, "mkdir -p "+quote(path.Dir(remote))+" && cat > "+quote(remote), f)
		if err != nil {
			return fmt.Errorf("copying %s to remote path %s: %w", local, remote, err)
		}
		return nil
	}
	if !info.IsDir() {
		if kind == "dir" {
			dest = path.Join(dest, filepath.Base(source))
		}
		return put(source, dest)
	}
	if kind == "file" {
		return fmt.Errorf("remote path %s exists but is not a directory", dest)
	}
	if !strings.HasSuffix(source, "/") {
		dest = path.Join(dest, filepath.Base(source))
	}
	return filepath.Walk(source, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(source, p)
		target := path.Join(dest, filepath.ToSlash(rel))
		if fi.IsDir() {
			_, err := remoteSh(client, "mkdir -p "+quote(target), nil)
			return err
		}
		return put(p, target)
	})
}
