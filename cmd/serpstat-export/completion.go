package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

const completionHelp = `Usage: serpstat-export completion bash|zsh

Prints a shell completion script for serpstat-export's commands and flags.

  # bash: for this shell, or for good in ~/.bashrc
  source <(serpstat-export completion bash)
  # zsh: put it on your $fpath as _serpstat-export
  serpstat-export completion zsh > "${fpath[1]}/_serpstat-export"
`

// commandFlags lists each command's flags, from the same definitions the
// commands parse, so completion never goes stale.
func commandFlags() map[string]*flag.FlagSet {
	sets := map[string]*flag.FlagSet{}
	for _, name := range []string{"export", "estimate"} {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		exportFlags(fs)
		if name == "estimate" {
			fs.Bool("json", false, "print one JSON object, for scripts")
		}
		sets[name] = fs
	}
	fs := flag.NewFlagSet("fake-api", flag.ContinueOnError)
	fakeAPIFlags(fs)
	growFlags(fs)
	sets["fake-api"] = fs
	sets["completion"] = flag.NewFlagSet("completion", flag.ContinueOnError)
	sets["version"] = flag.NewFlagSet("version", flag.ContinueOnError)
	sets["version"].Bool("json", false, "print one JSON object, for scripts")
	sets["methods"] = flag.NewFlagSet("methods", flag.ContinueOnError)
	sets["methods"].Bool("json", false, "print a JSON array of the methods, for scripts")
	return sets
}

// fileFlags take a path; enumFlags take one of a few words.
var (
	fileFlags = map[string]bool{"out": true, "config": true, "token-file": true, "filter-file": true, "summary-json": true, "state-dir": true}
	enumFlags = map[string]string{
		"method":      strings.ReplaceAll(backlinks.Names(), ", ", " "),
		"search-type": "domain domain_with_subdomains url part_url",
		"order":       "asc desc",
		"sort":        "url_from anchor link_nofollow links_external link_type url_to check add domain_rank",
		"format":      "csv ndjson parquet",
		"log-format":  "text json",
		"log-level":   "debug info warn error",
		"progress":    "auto always never",
	}
)

func runCompletion(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(stdout, completionHelp)
		return exitOK
	}
	if len(args) != 1 || (args[0] != "bash" && args[0] != "zsh") {
		fmt.Fprint(stderr, completionHelp)
		return exitUsage
	}
	sets := commandFlags()
	cmds := make([]string, 0, len(sets))
	for c := range sets {
		cmds = append(cmds, c)
	}
	sort.Strings(cmds)
	if args[0] == "bash" {
		writeBash(stdout, cmds, sets)
	} else {
		writeZsh(stdout, cmds, sets)
	}
	return exitOK
}

func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
	return names
}

func writeBash(w io.Writer, cmds []string, sets map[string]*flag.FlagSet) {
	fmt.Fprintln(w, "# bash completion for serpstat-export")
	fmt.Fprintln(w, "_serpstat_export() {")
	fmt.Fprintln(w, `  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" cmd="${COMP_WORDS[1]}" opts=""`)
	fmt.Fprintf(w, "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n    COMPREPLY=($(compgen -W %q -- \"$cur\"))\n    return\n  fi\n", strings.Join(cmds, " ")+" help")
	fmt.Fprintln(w, `  case "$prev" in`)
	var files []string
	for f := range fileFlags {
		files = append(files, "--"+f)
	}
	sort.Strings(files)
	fmt.Fprintf(w, "    %s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", strings.Join(files, "|"))
	var enums []string
	for f := range enumFlags {
		enums = append(enums, f)
	}
	sort.Strings(enums)
	for _, f := range enums {
		fmt.Fprintf(w, "    --%s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", f, enumFlags[f])
	}
	fmt.Fprintln(w, "  esac")
	fmt.Fprintln(w, `  case "$cmd" in`)
	for _, c := range cmds {
		if c == "completion" {
			fmt.Fprintln(w, `    completion) opts="bash zsh" ;;`)
			continue
		}
		fmt.Fprintf(w, "    %s) opts=%q ;;\n", c, strings.Join(flagNames(sets[c]), " "))
	}
	fmt.Fprintln(w, "  esac")
	fmt.Fprintln(w, `  COMPREPLY=($(compgen -W "$opts" -- "$cur"))`)
	fmt.Fprintln(w, "}")
	fmt.Fprintln(w, "complete -F _serpstat_export serpstat-export")
}

// zshQuote escapes a flag's usage for an _arguments spec.
func zshQuote(s string) string {
	if i := strings.IndexAny(s, ".;("); i > 0 {
		s = s[:i]
	}
	r := strings.NewReplacer("'", "", "[", "(", "]", ")", ":", " ", "`", "", "\\", "")
	return r.Replace(s)
}

func writeZsh(w io.Writer, cmds []string, sets map[string]*flag.FlagSet) {
	fmt.Fprintln(w, "#compdef serpstat-export")
	fmt.Fprintln(w, "# zsh completion for serpstat-export")
	fmt.Fprintln(w, "_serpstat_export() {")
	fmt.Fprintln(w, "  local -a cmds")
	fmt.Fprint(w, "  cmds=(")
	for _, c := range cmds {
		fmt.Fprintf(w, " '%s'", c)
	}
	fmt.Fprintln(w, " 'help' )")
	fmt.Fprintln(w, "  if (( CURRENT == 2 )); then")
	fmt.Fprintln(w, "    _describe 'command' cmds")
	fmt.Fprintln(w, "    return")
	fmt.Fprintln(w, "  fi")
	fmt.Fprintln(w, "  case $words[2] in")
	for _, c := range cmds {
		if c == "completion" {
			fmt.Fprintln(w, "    completion) _arguments '2:shell:(bash zsh)' ;;")
			continue
		}
		fmt.Fprintf(w, "    %s)\n      _arguments \\\n", c)
		sets[c].VisitAll(func(f *flag.Flag) {
			spec := fmt.Sprintf("'--%s[%s]", f.Name, zshQuote(f.Usage))
			switch {
			case fileFlags[f.Name]:
				spec += ":path:_files"
			case enumFlags[f.Name] != "":
				spec += ":value:(" + enumFlags[f.Name] + ")"
			case !isBoolFlag(f):
				spec += ":value:"
			}
			fmt.Fprintf(w, "        %s' \\\n", spec)
		})
		fmt.Fprintln(w, "        ;;")
	}
	fmt.Fprintln(w, "  esac")
	fmt.Fprintln(w, "}")
	fmt.Fprintln(w, `_serpstat_export "$@"`)
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
