package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

func init() {
	register(&command{
		name: "completion", summary: "Print a shell completion script for bash, zsh or fish", args: "bash|zsh|fish",
		example: `fairway completion bash > ~/.local/share/bash-completion/completions/fairway   # or: source <(fairway completion bash)
fairway completion zsh > "${fpath[1]}/_fairway"
fairway completion fish > ~/.config/fish/completions/fairway.fish`,
		setup: noFlags(func(a *app, pos []string) error {
			if err := wantArgs(pos, 1, "a shell: bash, zsh or fish"); err != nil {
				return err
			}
			switch pos[0] {
			case "bash":
				writeBashCompletion(a.stdout, false)
			case "zsh":
				writeBashCompletion(a.stdout, true)
			case "fish":
				writeFishCompletion(a.stdout)
			default:
				return usagef("no completion for %q: want bash, zsh or fish", pos[0])
			}
			return nil
		}),
	})
}

// completionTree is what completion offers: the words that may follow
// each command path ("" for the first word), and each command's flags.
type completionTree struct {
	paths   []string            // "" first, then in definition order
	words   map[string][]string // path → next words (subcommands)
	flags   map[string][]*flag.Flag
	summary map[string]string
}

func buildCompletionTree() *completionTree {
	t := &completionTree{words: map[string][]string{}, flags: map[string][]*flag.Flag{}, summary: map[string]string{}}
	add := func(path, word string) {
		if _, ok := t.words[path]; !ok {
			t.paths = append(t.paths, path)
		}
		if !slices.Contains(t.words[path], word) {
			t.words[path] = append(t.words[path], word)
		}
	}
	t.paths = append(t.paths, "")
	t.words[""] = nil
	for _, c := range commands {
		if c.hidden {
			continue
		}
		parts := strings.Fields(c.name)
		add("", parts[0])
		if len(parts) == 2 {
			add(parts[0], parts[1])
		}
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		(&app{}).defineFlags(fs, c)
		fs.VisitAll(func(f *flag.Flag) { t.flags[c.name] = append(t.flags[c.name], f) })
		t.summary[c.name] = c.summary
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		add("completion", sh)
		t.summary["completion "+sh] = "the " + sh + " completion script"
	}
	return t
}

// allPaths are the command paths and group names, in definition order.
func (t *completionTree) allPaths() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range commands {
		if c.hidden {
			continue
		}
		parts := strings.Fields(c.name)
		for _, p := range []string{parts[0], c.name} {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// writeBashCompletion writes a bash script; zsh runs the same through its
// bash compatibility layer.
func writeBashCompletion(w io.Writer, zsh bool) {
	t := buildCompletionTree()
	if zsh {
		fmt.Fprint(w, "#compdef fairway\n# zsh completion for fairway, through zsh's bash completion support.\nautoload -U +X bashcompinit && bashcompinit\n\n")
	} else {
		fmt.Fprint(w, "# bash completion for fairway: source <(fairway completion bash)\n\n")
	}
	var subPaths []string
	for _, p := range t.paths {
		if p != "" {
			for _, s := range t.words[p] {
				subPaths = append(subPaths, `"`+p+" "+s+`"`)
			}
		}
	}
	fmt.Fprintf(w, `_fairway() {
    local cur=${COMP_WORDS[COMP_CWORD]} path="" w i n=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        --) return 0 ;;   # the rest is the command fairway run starts
        -*) continue ;;
        esac
        if ((n == 0)); then
            path=$w
            n=1
        elif ((n == 1)); then
            case "$path $w" in
            %s) path="$path $w" ;;
            esac
            n=2
        fi
    done
    local words=""
    case $path in
`, strings.Join(subPaths, "|"))
	for _, p := range append([]string{""}, t.allPaths()...) {
		var words []string
		words = append(words, t.words[p]...)
		for _, f := range t.flags[p] {
			words = append(words, flagName(f.Name))
		}
		fmt.Fprintf(w, "    %q) words=%q ;;\n", p, strings.Join(words, " "))
	}
	fmt.Fprint(w, `    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _fairway fairway
`)
}

// writeFishCompletion writes fish completions: subcommands with their
// summaries, and each command's flags with their usage.
func writeFishCompletion(w io.Writer) {
	t := buildCompletionTree()
	fmt.Fprint(w, "# fish completion for fairway: fairway completion fish > ~/.config/fish/completions/fairway.fish\n")
	groups := t.words[""]
	for _, g := range groups {
		desc := t.summary[g]
		if desc == "" {
			desc = "commands of fairway " + g
		}
		fmt.Fprintf(w, "complete -c fairway -n '__fish_use_subcommand' -a %s -d %s\n", g, fishQuote(desc))
	}
	for _, g := range groups {
		subs := t.words[g]
		for _, s := range subs {
			fmt.Fprintf(w, "complete -c fairway -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s' -a %s -d %s\n",
				g, strings.Join(subs, " "), s, fishQuote(t.summary[g+" "+s]))
		}
	}
	for _, p := range t.allPaths() {
		parts := strings.Fields(p)
		cond := "__fish_seen_subcommand_from " + parts[0]
		if len(parts) == 2 {
			cond += "; and __fish_seen_subcommand_from " + parts[1]
		} else if subs := t.words[p]; len(subs) > 0 {
			cond += "; and not __fish_seen_subcommand_from " + strings.Join(subs, " ")
		}
		for _, f := range t.flags[p] {
			opt := "-l " + f.Name
			if len(f.Name) == 1 {
				opt = "-s " + f.Name
			}
			_, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "complete -c fairway -n '%s' %s -d %s\n", cond, opt, fishQuote(usage))
		}
	}
}

func fishQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
