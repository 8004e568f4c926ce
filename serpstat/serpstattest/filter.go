package serpstattest

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// Filter fields, as complexFilter names them.
const (
	fieldURLFrom = iota
	fieldAnchor
	fieldNofollow
	fieldLinksExt
	fieldLinkType
	fieldURLTo
	fieldCheck
	fieldAdd
)

var fieldIDs = map[string]int{
	"url_from": fieldURLFrom, "anchor": fieldAnchor, "link_nofollow": fieldNofollow,
	"links_external": fieldLinksExt, "link_type": fieldLinkType, "url_to": fieldURLTo,
	"check": fieldCheck, "add": fieldAdd,
}

// Compare types.
const (
	opGT = iota
	opLT
	opGTE
	opLTE
	opEQ
	opNEQ
	opBetween
	opContains
	opNotContains
	opStartsWith
	opEndsWith
)

var opIDs = map[string]int{
	"gt": opGT, "lt": opLT, "gte": opGTE, "lte": opLTE, "eq": opEQ, "neq": opNEQ,
	"between": opBetween, "contains": opContains, "notContains": opNotContains,
	"startsWith": opStartsWith, "endsWith": opEndsWith,
}

// The documented filter values of link_type, and the answer value each
// matches: filter values differ from answer values (backlinks-methods.md).
// Any other value (href, frame, ...) is refused, as the spec allows none.
var linkTypeFilterValues = map[string]string{
	"text": "href", "redirect": "redirect", "iframe": "frame", "form": "form",
	"canonical": "canonical", "rss": "rss", "alternate": "alternate", "image": "image",
}

// The documented filter values of link_nofollow: the spec's names, and the
// method page's codes ("0" follow, "1" nofollow, "2" ugc, "4" sponsored).
var nofollowFilterValues = map[string]string{
	"follow": "follow", "nofollow": "nofollow", "ugc": "ugc", "sponsored": "sponsored",
	"0": "follow", "1": "nofollow", "2": "ugc", "4": "sponsored",
}

// cond is one compiled condition; an additional filter matches every row.
type cond struct {
	always bool
	field  int
	op     int
	strs   []string
	nums   []int64 // numbers, or dates as YYYYMMDD
}

// compiled is a checked complexFilter: an OR-list of AND-lists.
type compiled [][]cond

func filterErr(msg string) *serpstat.Error {
	return &serpstat.Error{Code: CodeFilter, Message: msg}
}

// compileFilter checks f as the API does and compiles it. A condition on
// a field ignored reports (Options.IgnoreFilters; nil: none) is checked,
// then compiled to match every row.
func compileFilter(f serpstat.Filter, ignored func(field string) bool) (compiled, *serpstat.Error) {
	out := make(compiled, 0, len(f))
	for gi, group := range f {
		if len(group) == 0 {
			return nil, schemaErr("params.complexFilter[" + strconv.Itoa(gi) + "]: empty condition list")
		}
		conds := make([]cond, 0, len(group))
		for _, c := range group {
			if c.AdditionalFilters != "" {
				if !slices.Contains(backlinks.NewBacklinks.AdditionalFilters, c.AdditionalFilters) {
					return nil, filterErr("Not allowed field: " + c.AdditionalFilters)
				}
				conds = append(conds, cond{always: true})
				continue
			}
			cc, err := compileCond(c)
			if err != nil {
				return nil, err
			}
			if ignored != nil && ignored(c.Field) {
				cc = cond{always: true}
			}
			conds = append(conds, cc)
		}
		out = append(out, conds)
	}
	return out, nil
}

func compileCond(c serpstat.Condition) (cond, *serpstat.Error) {
	field, ok := fieldIDs[c.Field]
	if !ok {
		return cond{}, filterErr("Not allowed field: " + c.Field)
	}
	op, ok := opIDs[c.CompareType]
	text := field == fieldURLFrom || field == fieldAnchor || field == fieldNofollow ||
		field == fieldLinkType || field == fieldURLTo
	if !ok || text && op <= opLTE || text && op == opBetween || !text && op >= opContains {
		return cond{}, filterErr("Not allowed method " + c.CompareType + " for field " + c.Field)
	}
	if len(c.Value) == 0 || op == opBetween && len(c.Value) < 2 {
		return cond{}, filterErr("Field value is required")
	}
	if op == opBetween && (field == fieldAdd || field == fieldCheck) {
		// The spec documents between for two numbers only; dates are
		// compared with gte and lte.
		return cond{}, filterErr("Not allowed values for between method")
	}
	cc := cond{field: field, op: op}
	for _, v := range c.Value {
		switch {
		case text:
			s, ok := v.(string)
			if !ok && op >= opContains {
				// contains & co. compare text: a number is refused, as
				// Method.Validate refuses it.
				return cond{}, filterErr("Invalid value for field " + c.Field)
			}
			if !ok {
				s = jsonText(v)
			}
			if field == fieldLinkType && (op == opEQ || op == opNEQ) {
				a, ok := linkTypeFilterValues[s]
				if !ok {
					return cond{}, filterErr("Not allowed value " + s + " for field link_type")
				}
				s = a
			}
			if field == fieldNofollow && (op == opEQ || op == opNEQ) {
				a, ok := nofollowFilterValues[s]
				if !ok {
					return cond{}, filterErr("Not allowed value " + s + " for field link_nofollow")
				}
				s = a
			}
			cc.strs = append(cc.strs, s)
		case field == fieldAdd || field == fieldCheck:
			s, _ := v.(string)
			key, ok := parseDate(s, serpstat.DateDMY) // add and check
			if !ok {
				return cond{}, filterErr("Invalid crawl date")
			}
			cc.nums = append(cc.nums, int64(key))
		default:
			n, ok := number(v)
			if !ok {
				return cond{}, filterErr("Invalid value for field " + c.Field)
			}
			cc.nums = append(cc.nums, n)
		}
	}
	return cc, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// number reads a JSON number or a numeric string as an integer.
func number(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, false
		}
		return int64(x), true
	case int:
		return int64(x), true
	case int64:
		return x, true
	case json.Number:
		return number(string(x))
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return int64(f), true
		}
	}
	return 0, false
}

// parseDate reads a date written exactly as format (DD.MM.YYYY with two
// digits each for day and month, or YYYY-MM-DD) as YYYYMMDD: the format
// the spec documents for the field. Any other spelling (1.4.2025 for a
// DD.MM.YYYY field, 01.04.2025 for a YYYY-MM-DD one) or a day that does
// not exist is refused.
func parseDate(s string, format serpstat.DateFormat) (int, bool) {
	if len(s) != 10 {
		return 0, false
	}
	var ys, ms, ds string
	switch {
	case format == serpstat.DateISO && s[4] == '-' && s[7] == '-':
		ys, ms, ds = s[:4], s[5:7], s[8:]
	case format == serpstat.DateDMY && s[2] == '.' && s[5] == '.':
		ds, ms, ys = s[:2], s[3:5], s[6:]
	default:
		return 0, false
	}
	var n [3]int
	for i, p := range []string{ys, ms, ds} {
		for j := 0; j < len(p); j++ {
			if p[j] < '0' || p[j] > '9' {
				return 0, false
			}
			n[i] = n[i]*10 + int(p[j]-'0')
		}
	}
	y, m, d := n[0], n[1], n[2]
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(m, y) {
		return 0, false
	}
	return y*10000 + m*100 + d, true
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// match reports whether r satisfies any AND-list.
func (c compiled) match(r *row) bool {
	return anyGroup(c, func(c *cond) bool { return c.match(r) })
}

// matchesAll reports whether c matches every row without looking at it:
// an AND-list holds only additional filters and ignored conditions.
func (c compiled) matchesAll() bool {
	return anyGroup(c, func(c *cond) bool { return c.always })
}

// anyGroup reports whether every condition of some AND-list of an
// OR-list holds: a complexFilter's meaning, for either kind of compiled
// condition.
func anyGroup[C any](groups [][]C, holds func(*C) bool) bool {
	for _, group := range groups {
		ok := true
		for i := range group {
			if !holds(&group[i]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (c *cond) match(r *row) bool {
	if c.always {
		return true
	}
	var s string
	var n int64
	switch c.field {
	case fieldURLFrom:
		s = r.URLFrom
	case fieldAnchor:
		s = r.LinkText
	case fieldNofollow:
		s = r.Nofollow
	case fieldLinkType:
		s = r.LinkType
	case fieldURLTo:
		s = r.URLTo
	case fieldLinksExt:
		n = int64(r.LinksExt)
	case fieldAdd:
		n = int64(r.addKey)
	case fieldCheck:
		n = int64(r.checkKey)
	}
	switch c.op {
	case opGT:
		return n > c.nums[0]
	case opLT:
		return n < c.nums[0]
	case opGTE:
		return n >= c.nums[0]
	case opLTE:
		return n <= c.nums[0]
	case opBetween:
		lo, hi := c.nums[0], c.nums[1]
		if lo > hi {
			lo, hi = hi, lo
		}
		return n >= lo && n <= hi
	case opEQ, opNEQ:
		var eq bool
		if c.strs != nil {
			eq = slices.Contains(c.strs, s)
		} else {
			eq = slices.Contains(c.nums, n)
		}
		return eq == (c.op == opEQ)
	case opContains, opNotContains:
		found := false
		for _, v := range c.strs {
			if strings.Contains(s, v) {
				found = true
				break
			}
		}
		return found == (c.op == opContains)
	case opStartsWith:
		for _, v := range c.strs {
			if strings.HasPrefix(s, v) {
				return true
			}
		}
	case opEndsWith:
		for _, v := range c.strs {
			if strings.HasSuffix(s, v) {
				return true
			}
		}
	}
	return false
}

// matchCache remembers the matching row indexes per (data set, filter), so a
// filtered export scans each data set once, not once per page. It holds
// at most maxCachedIndexes indexes in all, dropping whole entries past that.
type matchCache struct {
	mu    sync.Mutex
	m     map[string]*matchEntry
	total int
}

const maxCachedIndexes = 16 << 20 // 64 MiB of int32

type matchEntry struct {
	once sync.Once
	idx  []int32 // written once, read after once.Do
	size int     // len(idx), guarded by matchCache.mu
}

// indexes returns the indexes, below n, of the rows match accepts, for
// the data set and filter named by key.
func (mc *matchCache) indexes(key string, n int, match func(i int) bool) []int32 {
	return mc.get(key, func() []int32 {
		var idx []int32
		for i := 0; i < n; i++ {
			if match(i) {
				idx = append(idx, int32(i))
			}
		}
		return idx
	})
}

// get returns the indexes named by key, built once by build.
func (mc *matchCache) get(key string, build func() []int32) []int32 {
	mc.mu.Lock()
	if mc.m == nil {
		mc.m = make(map[string]*matchEntry)
	}
	e := mc.m[key]
	if e == nil {
		e = &matchEntry{}
		mc.m[key] = e
	}
	mc.mu.Unlock()

	e.once.Do(func() {
		idx := build()
		e.idx = slices.Clip(idx)
		mc.mu.Lock()
		if mc.m[key] != e { // evicted while scanning: not counted
			mc.mu.Unlock()
			return
		}
		e.size = len(idx)
		mc.total += e.size
		for k, other := range mc.m {
			if mc.total <= maxCachedIndexes {
				break
			}
			if other != e {
				mc.total -= other.size
				other.size = 0
				delete(mc.m, k)
			}
		}
		mc.mu.Unlock()
	})
	return e.idx
}
