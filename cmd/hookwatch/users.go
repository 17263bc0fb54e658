package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"golang.org/x/crypto/bcrypt"
)

// The dashboard's user and token commands register themselves here rather
// than in main.go's table.
// minPassword is the shortest password accepted.
const minPassword = 12

// stdin is where passwords are read; tests replace it.
var stdin io.Reader = os.Stdin

// readPassword reads a password: the first line of stdin with
// --password-stdin, else from the terminal without echo, twice. A password
// is never a flag: flags end up in shell history and process listings.
func readPassword(env *Env, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fmt.Fprint(env.Stderr, "Password: ")
	p1, err := readNoEcho(os.Stdin)
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(env.Stderr, "Again: ")
	p2, err := readNoEcho(os.Stdin)
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return "", err
	}
	if p1 != p2 {
		return "", hookwatch.Errorf(hookwatch.EINVALID, "the two passwords differ")
	}
	return p1, nil
}

func runUsersAdd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "users add", "Adds a user who can sign in to the dashboard. The password is asked on the terminal,\nor read from the first line of stdin with --password-stdin; it is stored as a bcrypt hash.\n\nUsage: hookwatch users add [flags] NAME")
	path := configFlag(fs, "for the store")
	fromStdin := fs.Bool("password-stdin", false, "read the password from stdin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("users add needs one user name: %w", errUsage)
	}
	name := fs.Arg(0)
	if strings.TrimSpace(name) != name || name == "" || len(name) > 64 {
		return hookwatch.Errorf(hookwatch.EINVALID, "user name %q: 1 to 64 characters, no leading or trailing space", name)
	}
	pw, err := readPassword(env, *fromStdin)
	if err != nil {
		return err
	}
	if len(pw) < minPassword {
		return hookwatch.Errorf(hookwatch.EINVALID, "the password is too short: at least %d characters", minPassword)
	}
	if len(pw) > 72 {
		return hookwatch.Errorf(hookwatch.EINVALID, "the password is too long: bcrypt uses at most 72 bytes")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("users add: hash: %w", err)
	}
	store, err := openCLIStore(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.CreateUser(ctx, &hookwatch.User{Name: name, PasswordHash: hash, CreatedAt: time.Now().UTC()}); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "user %s added: sign in on the admin listener (admin_listen)\n", name)
	return nil
}

func runUsersList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "users list", "Lists dashboard users.")
	path := configFlag(fs, "for the store")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	_, store, err := fs.parseOpen(ctx, env, args, path)
	if err != nil {
		return err
	}
	defer store.Close()
	users, err := store.ListUsers(ctx)
	if err != nil {
		return err
	}
	if err := printList(env, *asJSON, users, asIs, "NAME\tCREATED", func(u *hookwatch.User) string {
		return u.Name + "\t" + localTime(u.CreatedAt)
	}, "no users: add one with hookwatch users add NAME"); err != nil {
		return err
	}
	return nil
}

func runUsersRemove(ctx context.Context, env *Env, args []string) error {
	store, name, err := openWithArg(ctx, env, args, "users remove", "name",
		"Removes a dashboard user, signs out their sessions and revokes their API tokens.", nil)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.DeleteUser(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "user %s removed\n", name)
	return nil
}

func runTokensAdd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "tokens add", "Creates an API token for scripts, owned by a user: send it as Authorization: Bearer TOKEN\nto the admin API. It is printed once; only its hash is stored.\n\nUsage: hookwatch tokens add [flags] --user NAME --name WHAT-FOR")
	path := configFlag(fs, "for the store")
	userName := fs.String("user", "", "the user the token acts as (required)")
	name := fs.String("name", "", "what the token is for, e.g. ci (required)")
	expires := fs.String("expires", "", "lifetime: a duration (30d, 12h); empty: never expires")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *userName == "" || *name == "" || fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("tokens add needs --user and --name: %w", errUsage)
	}
	now := time.Now().UTC()
	t := &hookwatch.APIToken{ID: hookwatch.NewID("tok", now), User: *userName, Name: *name, CreatedAt: now}
	if *expires != "" {
		exp, err := parseSince(*expires, now)
		if err != nil {
			return hookwatch.Errorf(hookwatch.EINVALID, "--expires %q: use a duration such as 30d or 12h", *expires)
		}
		t.ExpiresAt = now.Add(now.Sub(exp))
	}
	token := hookwatch.NewSecretToken("hwt_")
	t.Hash = hookwatch.HashToken(token)
	store, err := openCLIStore(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.CreateAPIToken(ctx, t); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "token %s created for %s; it is shown once, keep it now:\n", t.ID, t.User)
	fmt.Fprintln(env.Stdout, token)
	return nil
}

func runTokensList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "tokens list", "Lists API tokens: ID, user, purpose, expiry. The tokens themselves are never stored.")
	path := configFlag(fs, "for the store")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	_, store, err := fs.parseOpen(ctx, env, args, path)
	if err != nil {
		return err
	}
	defer store.Close()
	ts, err := store.ListAPITokens(ctx)
	if err != nil {
		return err
	}
	return printList(env, *asJSON, ts, asIs, "ID\tUSER\tNAME\tCREATED\tEXPIRES", func(t *hookwatch.APIToken) string {
		exp := "never"
		if !t.ExpiresAt.IsZero() {
			exp = t.ExpiresAt.Local().Format("2006-01-02 15:04")
		}
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", t.ID, t.User, dash(t.Name), t.CreatedAt.Local().Format("2006-01-02 15:04"), exp)
	}, "")
}

func runTokensRemove(ctx context.Context, env *Env, args []string) error {
	store, id, err := openWithArg(ctx, env, args, "tokens remove", "token ID", "Revokes an API token (tok_...) at once.", nil)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.DeleteAPIToken(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "token %s revoked\n", id)
	return nil
}
