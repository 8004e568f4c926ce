package serpstattest

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// decodeMethodParams decodes and checks the params of m (any paged
// method but getNewBacklinks) as strictly as its descriptor documents
// them: a param m does not document is refused as a schema error, as is
// a param of the wrong type, a searchType, sort or order not documented,
// an intersect of no domains or too many; complexFilter problems are
// 32117 as for getNewBacklinks; conditions on the fields ignored reports
// are checked, then match every row. The returned params are filled as
// far as decoding went, even on error.
func decodeMethodParams(m *serpstat.Method, raw json.RawMessage, ignored func(field string) bool) (params, *serpstat.Error) {
	p := params{m: m}
	p.Page, p.Size = 1, DefaultPageSize
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return p, schemaErr("params: required")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return p, schemaErr("params: must be an object")
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var perr *serpstat.Error
	bad := func(key, want string) {
		if perr == nil {
			perr = schemaErr("params." + key + ": must be " + want)
		}
	}
	for _, k := range keys {
		v := obj[k]
		var err error
		switch {
		case k == "query":
			err = json.Unmarshal(v, &p.Query)
		case k == "searchType" && m.SearchTypes != nil:
			err = json.Unmarshal(v, &p.SearchType)
		case k == "intersect" && m.Intersect > 0:
			err = json.Unmarshal(v, &p.Intersect)
			if err != nil {
				bad(k, "an array of strings")
				continue
			}
		case k == "sort":
			err = json.Unmarshal(v, &p.Sort)
		case k == "order":
			err = json.Unmarshal(v, &p.Order)
		case k == "page":
			err = json.Unmarshal(v, &p.Page)
			if err != nil {
				bad(k, "an integer")
				continue
			}
		case k == "size":
			err = json.Unmarshal(v, &p.Size)
			if err != nil {
				bad(k, "an integer")
				continue
			}
		case k == "linkPerDomain" && m.LinkPerDomain:
			err = json.Unmarshal(v, &p.LinkPerDomain)
			if err != nil {
				bad(k, "an integer")
				continue
			}
		case m.Param(k) != nil:
			// The method's own params (getAnchors' anchor and count),
			// typed and checked by the descriptor (extra.go).
			text, detail := decodeExtra(m.Param(k), v)
			if detail != "" {
				if perr == nil {
					perr = schemaErr(detail)
				}
				continue
			}
			if p.Extra == nil {
				p.Extra = map[string]string{}
			}
			p.Extra[k] = text
		case k == "complexFilter":
			err = json.Unmarshal(v, &p.ComplexFilter)
			if err != nil {
				bad(k, "an array of arrays of conditions")
				continue
			}
		default:
			if perr == nil {
				perr = schemaErr("params." + k + ": not allowed: " + shortAPI(m) + " does not take it")
			}
			continue
		}
		if err != nil {
			bad(k, "a string")
		}
	}
	if perr != nil {
		return p, perr
	}
	switch {
	case p.Query == "":
		return p, schemaErr("params.query: required")
	case m.SearchTypes != nil && p.SearchType == "":
		return p, schemaErr("params.searchType: required")
	case m.SearchTypes != nil && !slices.Contains(m.SearchTypes, p.SearchType):
		return p, schemaErr("params.searchType: must be one of " + strings.Join(m.SearchTypes, ", "))
	case m.Intersect > 0 && (len(p.Intersect) == 0 || len(p.Intersect) > m.Intersect):
		return p, schemaErr("params.intersect: must hold 1 to " + strconv.Itoa(m.Intersect) + " domains")
	case m.Intersect > 0 && slices.Contains(p.Intersect, ""):
		return p, schemaErr("params.intersect: a domain must not be empty")
	case p.Sort != "" && !slices.Contains(m.Sorts, p.Sort):
		return p, schemaErr("params.sort: must be one of " + strings.Join(m.Sorts, ", "))
	case p.Order != "" && !slices.Contains(serpstat.Orders, strings.ToLower(p.Order)):
		return p, schemaErr("params.order: must be asc or desc")
	case p.Page < 1:
		return p, schemaErr("params.page: must be >= 1")
	case p.Size < 1 || p.Size > serpstat.MaxPageSize:
		return p, schemaErr("params.size: must be between 1 and " + strconv.Itoa(serpstat.MaxPageSize))
	case p.LinkPerDomain != nil && *p.LinkPerDomain < 0:
		return p, schemaErr("params.linkPerDomain: must be >= 0")
	}
	p.extra = newExtraMatch(m, p.Extra)
	if len(p.ComplexFilter) > 0 {
		c, ferr := compileMethodFilter(m, p.ComplexFilter, ignored)
		if ferr != nil {
			return p, ferr
		}
		canon, _ := json.Marshal(p.ComplexFilter)
		p.mfilter, p.canon = c, string(canon)
	}
	return p, nil
}

// shortAPI is m's API name without the procedure: getLostBacklinks.
func shortAPI(m *serpstat.Method) string {
	if i := strings.LastIndexByte(m.API, '.'); i >= 0 {
		return m.API[i+1:]
	}
	return m.API
}

// mcond is one compiled condition on a filter field of a method.
type mcond struct {
	always bool
	field  int // index in Method.Filters
	op     int
	strs   []string
	nums   []int64 // numbers, or dates as YYYYMMDD
	// list is the column of an enumerated list field (strs are the
	// names its codes stand for), -1 for any other field.
	list int
}

// mcompiled is a checked complexFilter of a method: an OR-list of AND-lists.
type mcompiled [][]mcond

// compileMethodFilter checks f against m's filter fields, by their kinds,
// with the messages of compileFilter, and compiles it; a condition on a
// field ignored reports (nil: none) is checked, then matches every row.
func compileMethodFilter(m *serpstat.Method, f serpstat.Filter, ignored func(field string) bool) (mcompiled, *serpstat.Error) {
	mi := infoFor(m)
	out := make(mcompiled, 0, len(f))
	for gi, group := range f {
		if len(group) == 0 {
			return nil, schemaErr("params.complexFilter[" + strconv.Itoa(gi) + "]: empty condition list")
		}
		conds := make([]mcond, 0, len(group))
		for _, c := range group {
			if c.AdditionalFilters != "" {
				if !slices.Contains(m.AdditionalFilters, c.AdditionalFilters) {
					return nil, filterErr("Not allowed field: " + c.AdditionalFilters)
				}
				conds = append(conds, mcond{always: true})
				continue
			}
			// A field is known by its schema name or an alias the spec's
			// examples use (getAnchors' noFollow).
			k := slices.IndexFunc(m.Filters, func(ff serpstat.FilterField) bool { return ff.Spells(c.Field) })
			if k < 0 {
				return nil, filterErr("Not allowed field: " + c.Field)
			}
			a := mi.access[k]
			op, ok := opIDs[c.CompareType]
			if a.codes != nil {
				cc, err := compileCodes(k, a, c, op, ok)
				if err != nil {
					return nil, err
				}
				if ignored != nil && (ignored(c.Field) || ignored(m.Filters[k].Name)) {
					cc = mcond{always: true}
				}
				conds = append(conds, cc)
				continue
			}
			text := a.kind != serpstat.KindDate && a.kind != serpstat.KindInt && a.kind != serpstat.KindFloat
			date := a.kind == serpstat.KindDate
			if !ok || text && (op <= opLTE || op == opBetween) || !text && op >= opContains {
				return nil, filterErr("Not allowed method " + c.CompareType + " for field " + c.Field)
			}
			if len(c.Value) == 0 || op == opBetween && len(c.Value) < 2 {
				return nil, filterErr("Field value is required")
			}
			if op == opBetween && date {
				return nil, filterErr(MsgBetween)
			}
			cc := mcond{field: k, op: op, list: -1}
			for _, v := range c.Value {
				switch {
				case text:
					s, ok := v.(string)
					if !ok && op >= opContains {
						return nil, filterErr("Invalid value for field " + c.Field)
					}
					if !ok {
						s = jsonText(v)
					}
					if a.enum != nil && (op == opEQ || op == opNEQ) {
						mapped, ok := a.enum[s]
						if !ok {
							return nil, filterErr("Not allowed value " + s + " for field " + c.Field)
						}
						s = mapped
					}
					cc.strs = append(cc.strs, s)
				case date:
					// Only the format the spec documents for the field.
					s, _ := v.(string)
					key, ok := parseDate(s, m.Filters[k].DateFormat)
					if !ok {
						return nil, filterErr("Invalid crawl date")
					}
					cc.nums = append(cc.nums, int64(key))
				default:
					n, ok := number(v)
					if !ok {
						return nil, filterErr("Invalid value for field " + c.Field)
					}
					cc.nums = append(cc.nums, n)
				}
			}
			if ignored != nil && (ignored(c.Field) || ignored(m.Filters[k].Name)) {
				cc = mcond{always: true}
			}
			conds = append(conds, cc)
		}
		out = append(out, conds)
	}
	return out, nil
}

// compileCodes compiles a condition on an enumerated list field
// (platform_type, threat_type): contains, notContains, eq or neq, with
// documented codes as strings ("1") or numbers (1), each standing for
// the name answers hold. Anything else is refused with 32117.
func compileCodes(k int, a access, c serpstat.Condition, op int, ok bool) (mcond, *serpstat.Error) {
	if !ok || op != opContains && op != opNotContains && op != opEQ && op != opNEQ {
		return mcond{}, filterErr("Not allowed method " + c.CompareType + " for field " + c.Field)
	}
	if len(c.Value) == 0 {
		return mcond{}, filterErr("Field value is required")
	}
	cc := mcond{field: k, op: op, list: a.col}
	for _, v := range c.Value {
		var code string
		switch x := v.(type) {
		case string:
			code = x
		default:
			n, ok := number(v)
			if !ok || float64(n) != toFloat(v) {
				return mcond{}, filterErr("Invalid value for field " + c.Field)
			}
			code = strconv.FormatInt(n, 10)
		}
		name, ok := a.codes[code]
		if !ok {
			return mcond{}, filterErr("Not allowed value " + code + " for field " + c.Field)
		}
		cc.strs = append(cc.strs, name)
	}
	return cc, nil
}

// toFloat is a JSON number as a float64, for telling 1 from 1.5.
func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return 0
}

// match reports whether r satisfies any AND-list.
func (c mcompiled) match(r *mrow) bool {
	return anyGroup(c, func(c *mcond) bool { return c.match(r) })
}

// matchesAll reports whether c matches every row without looking at it:
// an AND-list holds only additional filters and ignored conditions.
func (c mcompiled) matchesAll() bool {
	return anyGroup(c, func(c *mcond) bool { return c.always })
}

func (c *mcond) match(r *mrow) bool {
	switch {
	case c.always:
		return true
	case c.list >= 0:
		return matchList(c.op, c.strs, r.vals[c.list].List)
	}
	return compare(c.op, c.strs, c.nums, r.fstr[c.field], r.fnum[c.field])
}

// matchList applies a compare type of serpstat.ListCompares, with the
// names names, to a row's list: contains holds when the list holds any
// of the names, notContains when it holds none; eq when the list, as a
// set, is exactly the names, neq when it is not.
func matchList(op int, names, list []string) bool {
	switch op {
	case opContains, opNotContains:
		found := slices.ContainsFunc(names, func(n string) bool { return slices.Contains(list, n) })
		return found == (op == opContains)
	case opEQ, opNEQ:
		same := !slices.ContainsFunc(names, func(n string) bool { return !slices.Contains(list, n) }) &&
			!slices.ContainsFunc(list, func(n string) bool { return !slices.Contains(names, n) })
		return same == (op == opEQ)
	}
	return false
}

// compare applies op with values strs (text) or nums to s or n.
func compare(op int, strs []string, nums []int64, s string, n int64) bool {
	switch op {
	case opGT:
		return n > nums[0]
	case opLT:
		return n < nums[0]
	case opGTE:
		return n >= nums[0]
	case opLTE:
		return n <= nums[0]
	case opBetween:
		lo, hi := nums[0], nums[1]
		if lo > hi {
			lo, hi = hi, lo
		}
		return n >= lo && n <= hi
	case opEQ, opNEQ:
		var eq bool
		if strs != nil {
			eq = slices.Contains(strs, s)
		} else {
			eq = slices.Contains(nums, n)
		}
		return eq == (op == opEQ)
	case opContains, opNotContains:
		found := false
		for _, v := range strs {
			if strings.Contains(s, v) {
				found = true
				break
			}
		}
		return found == (op == opContains)
	case opStartsWith:
		for _, v := range strs {
			if strings.HasPrefix(s, v) {
				return true
			}
		}
	case opEndsWith:
		for _, v := range strs {
			if strings.HasSuffix(s, v) {
				return true
			}
		}
	}
	return false
}
