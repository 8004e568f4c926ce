package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

const methodsHelp = `Usage: serpstat-export methods [--json]

Lists the methods export and estimate take with --method: the paged ones
with their output columns and types, sort fields, filter fields (the
format a date field is sent in, other spellings taken, and what an
enumerated list field's codes mean), search types, the params --param
takes, the fields a query over the 60,000-row wall is sliced by and the
cursor of --incremental loads, then the ones that are not paged (one
answer per query) with their columns and params; each with its price.
--json prints a JSON array, for scripts ("paged" and "price" say how
each is billed).

Flags:
`

// methodInfo is one method as `methods --json` prints it; its JSON form
// is a contract.
type methodInfo struct {
	Name        string           `json:"name"`
	API         string           `json:"api"`
	Doc         string           `json:"doc"`
	Columns     []methodColumn   `json:"columns"`
	SortFields  []string         `json:"sort_fields"`
	DefaultSort string           `json:"default_sort"`
	Filters     []methodFilter   `json:"filter_fields"`
	SearchTypes []string         `json:"search_types"`
	Slices      []string         `json:"slice_fields"`
	Incremental *serpstat.Cursor `json:"incremental"`
	Additional  []string         `json:"additional_filters"`
	LinkPerDom  bool             `json:"link_per_domain"`
	Intersect   int              `json:"intersect,omitempty"`
	// Params are the params --param takes for the method.
	Params []methodParam `json:"params"`
	// Paged is false for a method answering a query in one request.
	Paged bool        `json:"paged"`
	Price methodPrice `json:"price"`
}

// methodParam is a param --param takes: its wire name, the JSON type it
// is sent as, its documented values ([] when any goes), and whether only
// a whole number of 1 or more is taken.
type methodParam struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Values   []string `json:"values"`
	Positive bool     `json:"positive,omitempty"`
	Doc      string   `json:"doc,omitempty"`
}

// methodPrice is how a method is billed, as its spec says.
type methodPrice struct {
	// Credits are billed Per "row" answered or "request" answered with
	// data; EmptyAnswer is what an answer without data (or rows) costs.
	Credits     int64  `json:"credits"`
	Per         string `json:"per"`
	EmptyAnswer int64  `json:"empty_answer"`
	// Text says it in words, as `methods` prints it.
	Text string `json:"text"`
}

type methodColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type methodFilter struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Values []string `json:"values"`
	// DateFormat is how a date field's values are sent (any of
	// serpstat.DateInputs is taken); "" for other fields.
	DateFormat string `json:"date_format,omitempty"`
	// Aliases are other spellings taken for the field, sent as Name.
	Aliases []string `json:"aliases,omitempty"`
	// Codes are an enumerated list field's codes and what each means.
	Codes []serpstat.Code `json:"codes,omitempty"`
}

// describeMethod is m as `methods` prints it: the output columns in
// order, the trailing extra column included with type "json".
func describeMethod(m *serpstat.Method) methodInfo {
	info := methodInfo{
		Name: m.Name, API: m.API, Doc: m.Doc,
		SortFields: nonNil(m.Sorts), DefaultSort: m.DefaultSort,
		SearchTypes: nonNil(m.SearchTypes), Slices: nonNil(m.Slices),
		Incremental: m.Cursor, Additional: nonNil(m.AdditionalFilters),
		LinkPerDom: m.LinkPerDomain, Intersect: m.Intersect,
		Filters: []methodFilter{}, Params: []methodParam{},
		Paged: m.Paged(),
		Price: methodPrice{Credits: 1, Per: "row", EmptyAnswer: m.Billed(0), Text: m.PriceText()},
	}
	if m.Billing.PerRequest > 0 {
		info.Price.Credits, info.Price.Per = m.Billing.PerRequest, "request"
	}
	for _, p := range m.Params {
		info.Params = append(info.Params, methodParam{Name: p.Name, Type: p.Kind.String(), Values: nonNil(p.Values), Positive: p.Positive, Doc: p.Doc})
	}
	for _, c := range m.Columns {
		info.Columns = append(info.Columns, methodColumn{Name: c.Name, Type: c.Kind.String()})
	}
	if m.Extra {
		info.Columns = append(info.Columns, methodColumn{Name: serpstat.ExtraColumn, Type: "json"})
	}
	for _, f := range m.Filters {
		mf := methodFilter{Name: f.Name, Type: f.Kind.String(), Values: nonNil(f.Values), Aliases: f.Aliases, Codes: f.Codes}
		if f.Kind == serpstat.KindDate {
			mf.DateFormat = f.DateFormat.String()
		}
		info.Filters = append(info.Filters, mf)
	}
	return info
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func runMethods(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("methods", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print a JSON array of the methods, for scripts")
	if code, done := parseArgs(fs, args, methodsHelp, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serpstat-export methods: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	infos := make([]methodInfo, len(backlinks.All))
	for i, m := range backlinks.All {
		infos[i] = describeMethod(m)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(infos); err != nil {
			return exitFailure
		}
		return exitOK
	}
	// One block a method: its columns alone are wider than a terminal.
	tw := tabwriter.NewWriter(stdout, 0, 4, 1, ' ', 0)
	for i, in := range infos {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		cols := make([]string, len(in.Columns))
		for i, c := range in.Columns {
			cols[i] = c.Name + " " + c.Type
		}
		filters := make([]string, len(in.Filters))
		var codes []string
		for i, f := range in.Filters {
			filters[i] = f.Name + " " + f.Type
			switch {
			case len(f.Values) > 0:
				filters[i] += " (" + strings.Join(f.Values, "|") + ")"
			case f.DateFormat != "":
				filters[i] += " (sent " + f.DateFormat + ")"
			case len(f.Codes) > 0:
				filters[i] += " (codes)"
				cs := make([]string, len(f.Codes))
				for j, c := range f.Codes {
					cs[j] = c.Code + " " + c.Meaning
					if c.Name != "" && c.Name != c.Meaning {
						cs[j] += " (" + c.Name + ")"
					}
				}
				codes = append(codes, f.Name+": "+strings.Join(cs, ", "))
			}
			if len(f.Aliases) > 0 {
				filters[i] += " (also " + strings.Join(f.Aliases, ", ") + ")"
			}
		}
		inc := "-"
		if in.Incremental != nil {
			inc = in.Incremental.Column + " (filter " + in.Incremental.Filter + " gte)"
		}
		sort := orDash(in.SortFields)
		if in.DefaultSort != "" {
			sort += " (API default " + in.DefaultSort + ")"
		}
		fmt.Fprintf(tw, "%s\t%s: %s\n", in.Name, in.API, in.Doc)
		fmt.Fprintf(tw, "  columns:\t%s\n", strings.Join(cols, ", "))
		params := make([]string, len(in.Params))
		for i, p := range in.Params {
			params[i] = p.Name + " " + p.Type
			switch {
			case len(p.Values) > 0:
				params[i] += " (" + strings.Join(p.Values, "|") + ")"
			case p.Positive:
				params[i] += " (a whole number, 1 or more)"
			}
			if p.Doc != "" {
				params[i] += ": " + p.Doc
			}
		}
		fmt.Fprintf(tw, "  price:\t%s\n", in.Price.Text)
		fmt.Fprintf(tw, "  params:\t%s\n", orDash(params))
		if !in.Paged {
			fmt.Fprintf(tw, "  not paged:\tone answer per query, no sort, filter, pages or slices\n")
			fmt.Fprintf(tw, "  search types:\t%s\n", orDash(in.SearchTypes))
			continue
		}
		fmt.Fprintf(tw, "  sort fields:\t%s\n", sort)
		fmt.Fprintf(tw, "  filter fields:\t%s\n", orDash(filters))
		for _, c := range codes {
			fmt.Fprintf(tw, "  \t%s\n", c)
		}
		fmt.Fprintf(tw, "  search types:\t%s\n", orDash(in.SearchTypes))
		fmt.Fprintf(tw, "  sliced by:\t%s\n", orDash(in.Slices))
		fmt.Fprintf(tw, "  incremental:\t%s\n", inc)
	}
	if err := tw.Flush(); err != nil {
		return exitFailure
	}
	fmt.Fprintln(stdout, "\nFilter dates may be written "+serpstat.DateInputs+" for any method; each is sent as its field says.")
	fmt.Fprintln(stdout, "A list field's codes match rows whose list holds their names: contains (any of them), notContains (none),")
	fmt.Fprintln(stdout, "eq (exactly them), neq (not exactly them).")
	fmt.Fprintln(stdout, "\nexport and estimate take --method NAME (default new-backlinks); --json prints every detail.")
	return exitOK
}

func orDash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

// method is the method the settings name (--method, default
// new-backlinks), or a usage error naming the methods.
func (s *settings) method() (*serpstat.Method, error) {
	name := strings.TrimSpace(s.Method)
	if name == "" {
		return backlinks.NewBacklinks, nil
	}
	if m := backlinks.Lookup(name); m != nil {
		return m, nil
	}
	hint := ""
	names := make([]string, len(backlinks.All))
	for i, m := range backlinks.All {
		names[i] = m.Name
	}
	if sug := suggest(name, names); sug != "" {
		hint = " (did you mean " + sug + "?)"
	}
	return nil, &serpstat.ParamError{Field: "method", Value: fmt.Sprintf("%q", name), Msg: "is not a method" + hint + ": use one of " + backlinks.Names() + " (see serpstat-export methods)"}
}

// intersect is --intersect as a list of domains: each value may hold
// several, comma-separated.
func (s *settings) intersect() []string {
	var out []string
	for _, v := range s.Intersect {
		for _, d := range strings.Split(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				out = append(out, d)
			}
		}
	}
	return out
}

// methodParamNames lists the methods that take --param and their
// params' names, for --help: "anchors: anchor, count".
func methodParamNames() string {
	var out []string
	for _, m := range backlinks.Methods {
		if len(m.Params) == 0 {
			continue
		}
		names := make([]string, len(m.Params))
		for i, p := range m.Params {
			names[i] = p.Name
		}
		out = append(out, m.Name+": "+strings.Join(names, ", "))
	}
	if len(out) == 0 {
		return "no method takes one"
	}
	return strings.Join(out, "; ")
}

// incrementalMethods names the methods --incremental can follow.
func incrementalMethods() string {
	var names []string
	for _, m := range backlinks.Methods {
		if m.Cursor != nil {
			names = append(names, m.Name)
		}
	}
	return strings.Join(names, ", ")
}
