package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookwatch/hookwatch"
)

// The issues commands: list, show and the status, priority and comment
// updates of the failure groups (hookwatch.Issue).

func runIssuesList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "issues list", "Lists issues (failures grouped by source, destination and error class), most recently seen first.")
	path := configFlag(fs, "for the store")
	status := fs.String("status", "", "only this status: open, acknowledged, resolved, ignored")
	source := fs.String("source", "", "only this source")
	dest := fs.String("destination", "", "only this destination")
	limit := fs.Int("limit", 50, "at most this many")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	_, store, err := fs.parseOpen(ctx, env, args, path)
	if err != nil {
		return err
	}
	defer store.Close()
	is, err := store.ListIssues(ctx, hookwatch.IssueFilter{Status: hookwatch.IssueStatus(*status), Source: *source, Destination: *dest, Limit: *limit})
	if err != nil {
		return err
	}
	return printList(env, *asJSON, is, asIs, "ID\tSTATUS\tPRIORITY\tSOURCE\tDESTINATION\tCLASS\tCOUNT\tEVENTS\tLAST SEEN\tFLAGS",
		func(i *hookwatch.Issue) string {
			var flags []string
			if i.Regression {
				flags = append(flags, "regression")
			}
			if i.Test {
				flags = append(flags, "test")
			}
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s", i.ID, i.Status, i.Priority, i.Source, dash(i.Destination), i.Class,
				i.Count, i.Events, localTime(i.LastSeen), strings.Join(flags, ","))
		}, "no issues match")
}

func runIssuesShow(ctx context.Context, env *Env, args []string) error {
	store, id, asJSON, err := openShow(ctx, env, args, "issues show", "issue ID", "Shows one issue with its comments and its most recent failures.")
	if err != nil {
		return err
	}
	defer store.Close()
	i, err := store.GetIssue(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(i)
	}
	printIssue(env, i)
	fs, err := store.IssueFailures(ctx, id, 10)
	if err != nil {
		return err
	}
	if len(fs) > 0 {
		fmt.Fprintln(env.Stdout, "\nRecent failures:")
		tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		for _, f := range fs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", localTime(f.At), f.Kind, dash(f.EventID), f.Message)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func printIssue(env *Env, i *hookwatch.Issue) {
	w := env.Stdout
	fmt.Fprintf(w, "ID:           %s\nStatus:       %s\nPriority:     %s\nSource:       %s\nDestination:  %s\nClass:        %s (%s)\n",
		i.ID, i.Status, i.Priority, i.Source, dash(i.Destination), i.Class, i.Kind)
	fmt.Fprintf(w, "First seen:   %s\nLast seen:    %s\nCount:        %d failures, %d events, %d dead letters\nLast error:   %s\nLast event:   %s\n",
		i.FirstSeen.Format(time.RFC3339), i.LastSeen.Format(time.RFC3339), i.Count, i.Events, i.DeadLetters, dash(i.LastMessage), dash(i.LastEventID))
	if i.Regression {
		fmt.Fprintf(w, "Regression:   happened again at %s after being resolved\n", i.RegressedAt.Format(time.RFC3339))
	}
	if i.Test {
		fmt.Fprintln(w, "Flags:        test (never notifies)")
	}
	if len(i.Comments) > 0 {
		fmt.Fprintln(w, "\nComments:")
		for _, c := range i.Comments {
			fmt.Fprintf(w, "  %s  %s: %s\n", c.At.Format(time.RFC3339), c.Author, c.Body)
		}
	}
}

// issueUpdateCommand returns a command that applies an update to one issue.
func issueUpdateCommand(name, description string, build func(args []string) (hookwatch.IssueUpdate, error), nargs int) func(context.Context, *Env, []string) error {
	return func(ctx context.Context, env *Env, args []string) error {
		fs := newFlags(env, "issues "+name, description)
		path := configFlag(fs, "for the store")
		comment := fs.String("comment", "", "a comment to add with the change")
		asJSON := fs.Bool("json", false, "print the issue as one JSON object")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() != nargs {
			fs.Usage()
			return fmt.Errorf("issues %s needs %d arguments: %w", name, nargs, errUsage)
		}
		u, err := build(fs.Args()[1:])
		if err != nil {
			return err
		}
		if *comment != "" {
			u.Comment = *comment
		}
		u.Actor, u.Now = "cli", time.Now().UTC()
		if user, ok := env.Getenv("USER"); ok && user != "" {
			u.Actor = "cli:" + user
		}
		store, err := openCLIStore(ctx, env, *path)
		if err != nil {
			return err
		}
		defer store.Close()
		i, err := store.UpdateIssue(ctx, fs.Arg(0), u)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(env.Stdout).Encode(i)
		}
		fmt.Fprintf(env.Stdout, "%s is %s, priority %s\n", i.ID, i.Status, i.Priority)
		return nil
	}
}

func statusCommand(name string, s hookwatch.IssueStatus) func(context.Context, *Env, []string) error {
	return issueUpdateCommand(name, fmt.Sprintf("Marks an issue %s.\n\nUsage: hookwatch issues %s [flags] ISSUE_ID", s, name),
		func([]string) (hookwatch.IssueUpdate, error) { return hookwatch.IssueUpdate{Status: s}, nil }, 1)
}

var (
	runIssuesResolve  = statusCommand("resolve", hookwatch.IssueResolved)
	runIssuesIgnore   = statusCommand("ignore", hookwatch.IssueIgnored)
	runIssuesAck      = statusCommand("ack", hookwatch.IssueAcknowledged)
	runIssuesReopen   = statusCommand("reopen", hookwatch.IssueOpen)
	runIssuesPriority = issueUpdateCommand("priority", "Sets an issue's priority.\n\nUsage: hookwatch issues priority [flags] ISSUE_ID low|medium|high",
		func(a []string) (hookwatch.IssueUpdate, error) {
			return hookwatch.IssueUpdate{Priority: hookwatch.Priority(a[0])}, nil
		}, 2)
	runIssuesComment = issueUpdateCommand("comment", "Comments on an issue.\n\nUsage: hookwatch issues comment [flags] ISSUE_ID \"TEXT\"",
		func(a []string) (hookwatch.IssueUpdate, error) { return hookwatch.IssueUpdate{Comment: a[0]}, nil }, 2)
)
