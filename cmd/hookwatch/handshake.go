package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/provider"
)

// storeKeeper keeps one source's handshake secret in the store
// (provider.SecretKeeper over hookwatch.HandshakeStore). It reads the store
// at every request, never caching: a `hookwatch sources reset-handshake`
// run from another process takes effect at once.
type storeKeeper struct {
	store  hookwatch.HandshakeStore
	source string
}

// keeperTimeout bounds one store call on the receive path.
const keeperTimeout = 5 * time.Second

func (k storeKeeper) Load() (string, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), keeperTimeout)
	defer cancel()
	hs, err := k.store.HandshakeSecret(ctx, k.source)
	if hookwatch.ErrorCode(err) == hookwatch.ENOTFOUND {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return hs.Secret, true, nil
}

func (k storeKeeper) Keep(secret string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), keeperTimeout)
	defer cancel()
	return k.store.KeepHandshakeSecret(ctx, k.source, secret, time.Now())
}

// handshakeSource returns the configured source named by the command's one
// argument, checking that its provider hands its secret over in a
// handshake.
func handshakeSource(cfg *config.Config, cmd string, args []string) (config.Source, error) {
	if len(args) != 1 {
		return config.Source{}, fmt.Errorf("%s takes one source name: %w", cmd, errUsage)
	}
	src, ok := cfg.Source(args[0])
	if !ok {
		return config.Source{}, hookwatch.Errorf(hookwatch.ENOTFOUND, "no source named %q is configured", args[0])
	}
	if info, _ := provider.Lookup(src.Provider); !info.HandshakeSecret {
		return config.Source{}, hookwatch.Errorf(hookwatch.EINVALID, "source %s (provider %s) has no handshake secret: its secrets are in the config", src.Name, src.Provider)
	}
	return src, nil
}

func runSourcesHandshake(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "sources handshake", `Says whether a handshake secret is kept for source NAME, and when it was
received. Asana hands its signing secret over once, in the X-Hook-Secret
handshake that creating a webhook sends; Hookwatch keeps it (sealed) for a
source configured with no secrets. The secret itself is never printed.

Example:
  hookwatch sources handshake asana`)
	path := configFlag(fs, "for the source and the store")
	cfg, store, err := fs.parseOpen(ctx, env, args, path)
	if err != nil {
		return err
	}
	defer store.Close()
	src, err := handshakeSource(cfg, "sources handshake", fs.Args())
	if err != nil {
		return err
	}
	if len(src.Secrets) > 0 {
		fmt.Fprintf(env.Stdout, "source %s: secrets are configured (%d); handshakes must carry one of them and nothing is kept\n", src.Name, len(src.Secrets))
		return nil
	}
	hs, err := store.HandshakeSecret(ctx, src.Name)
	if hookwatch.ErrorCode(err) == hookwatch.ENOTFOUND {
		fmt.Fprintf(env.Stdout, "source %s: no handshake secret is kept; the next handshake's will be (create the webhook now)\n", src.Name)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "source %s: a handshake secret is kept, received %s; another handshake is refused until `hookwatch sources reset-handshake %s`\n",
		src.Name, hs.CreatedAt.UTC().Format(time.RFC3339), src.Name)
	return nil
}

func runSourcesResetHandshake(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "sources reset-handshake", `Forgets the handshake secret kept for source NAME: events signed with it are
rejected from now on, and the next handshake's secret is kept (trust on first
use again). Run it when the Asana webhook is deleted and created anew, then
create the new one at once. A running server sees the change at once.

Example:
  hookwatch sources reset-handshake asana`)
	path := configFlag(fs, "for the source and the store")
	cfg, store, err := fs.parseOpen(ctx, env, args, path)
	if err != nil {
		return err
	}
	defer store.Close()
	src, err := handshakeSource(cfg, "sources reset-handshake", fs.Args())
	if err != nil {
		return err
	}
	if err := store.ResetHandshakeSecret(ctx, src.Name); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "source %s: handshake secret forgotten; the next handshake's will be kept\n", src.Name)
	return nil
}
