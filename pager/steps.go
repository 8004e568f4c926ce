package pager

// ExactSteps returns the fewest requests that read rows from..to-1 and not
// one row more, each asking for at most maxSize rows: the API pages by
// offset = (page-1)×size, so a request at offset o can ask for any size
// that divides o (any size at offset 0). Among the shortest plans it
// takes the largest first step, then the largest next, and so on: 2344
// rows at 1000 a page are 4 pages of 586, 3001 are 3 of 1000 and 1 of 1.
// Without --max-rows paying for surplus rows costs nothing (the API bills
// only rows it has), so plans use it only when they stop short of the
// total. It takes O((to-from)×√to) time and O(to-from) memory.
func ExactSteps(from, to, maxSize int) []Step {
	if to <= from || maxSize < 1 {
		return nil
	}
	n := to - from
	const inf = int32(1 << 30)
	dist := make([]int32, n+1) // requests from offset from+i to to
	next := make([]int32, n+1) // the size of the first of them
	dist[n] = 0
	for i := n - 1; i >= 0; i-- {
		o := from + i
		best, bestSize := inf, int32(0)
		try := func(s int) {
			if s > maxSize || o+s > to {
				return
			}
			if d := dist[i+s] + 1; d < best || d == best && int32(s) > bestSize {
				best, bestSize = d, int32(s)
			}
		}
		if o == 0 {
			for s := min(maxSize, to); s >= 1; s-- {
				try(s)
			}
		} else {
			for d := 1; d*d <= o; d++ {
				if o%d == 0 {
					try(d)
					try(o / d)
				}
			}
		}
		dist[i], next[i] = best, bestSize
	}
	steps := make([]Step, 0, dist[0])
	for i := 0; i < n; {
		s := int(next[i])
		o := from + i
		steps = append(steps, Step{Page: o/s + 1, Size: s})
		i += s
	}
	return steps
}
