package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/provider"
)

func runSend(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "send", `Signs a payload the way the source's provider does, with the source's own
secret from the config, and posts it to the running server. The request is
marked as a test event (header X-Hookwatch-Test).

Example: hookwatch send --source stripe --file examples/stripe-invoice.json`)
	path := configFlag(fs, "")
	source := fs.String("source", "", "source name from the config (required)")
	file := fs.String("file", "", "payload file to send; - reads standard input (required)")
	url := fs.String("url", "", "server base URL (default: http:// + the config's listen address)")
	var headers headerFlags
	fs.Var(&headers, "H", "extra header 'Name: value' (repeatable), e.g. -H 'X-GitHub-Event: push'")
	timeout := fs.Duration("timeout", 10*time.Second, "request timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *source == "" || *file == "" {
		fs.Usage()
		return fmt.Errorf("send needs --source and --file: %w", errUsage)
	}
	cfg, err := loadConfig(env, *path)
	if err != nil {
		return err
	}
	src, ok := cfg.Source(*source)
	if !ok {
		var names []string
		for _, s := range cfg.Sources {
			names = append(names, s.Name)
		}
		return hookwatch.Errorf(hookwatch.EINVALID, "no source %q in %s (sources: %s)", *source, *path, strings.Join(names, ", "))
	}
	var body []byte
	if *file == "-" {
		body, err = io.ReadAll(os.Stdin)
	} else {
		body, err = os.ReadFile(*file)
	}
	if err != nil {
		return hookwatch.Errorf(hookwatch.EINVALID, "read payload: %v", err)
	}
	scheme, err := provider.New(src.Provider, src.ProviderConfig())
	if err != nil {
		return hookwatch.Errorf(hookwatch.EINVALID, "source %s: %v", src.Name, err)
	}
	signer, ok := scheme.(provider.Signer)
	if bs, isBody := scheme.(provider.BodySigner); isBody {
		// The signatures are in the body (Adyen): no header to set.
		if body, err = bs.SignBody(body); err != nil {
			return hookwatch.Errorf(hookwatch.EINVALID, "sign: %v", err)
		}
	} else if !ok {
		return hookwatch.Errorf(hookwatch.EINVALID, "provider %s verifies with a public key: hookwatch cannot sign for it", src.Provider)
	}
	base := *url
	if base == "" {
		base = "http://" + dialable(cfg.Listen)
	}
	target := strings.TrimRight(base, "/") + "/in/" + src.Name
	signURL := target
	if src.PublicURL != "" {
		signURL = src.PublicURL
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return hookwatch.Errorf(hookwatch.EINVALID, "send: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hookwatch-send/"+hookwatch.Version)
	req.Header.Set(ingest.TestHeader, "1")
	for _, h := range headers {
		req.Header.Set(h[0], h[1])
	}
	if signer != nil {
		if err := signer.Sign(req.Header, signURL, body, time.Now()); err != nil {
			return fmt.Errorf("sign: %w", err)
		}
	}
	client := &http.Client{Timeout: *timeout}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("send to %s: %w (is `hookwatch serve` running?)", target, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(env.Stdout, "%s %s\n%s", resp.Proto, resp.Status, answer)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("server answered %s", resp.Status)
	}
	return nil
}

// dialable turns a listen address into one a client can dial (":8080" →
// "127.0.0.1:8080").
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// headerFlags collects repeated -H 'Name: value' flags.
type headerFlags [][2]string

func (h *headerFlags) String() string { return "" }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("header %q is not 'Name: value'", v)
	}
	*h = append(*h, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
	return nil
}
