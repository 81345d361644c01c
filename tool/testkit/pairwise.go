package testkit

import (
	"fmt"
	"sort"
	"strings"
)

// Factor is one dimension of a combination table: a name, such as "net",
// and the values a test tries, such as "none", "host" and "bridge".
type Factor struct {
	Name   string
	Values []string
}

// Row is one combination: a value for each factor, by factor name. A
// partial row, during generation, lacks the factors not chosen yet.
type Row map[string]string

// String writes r as "name=value" pairs in the order of factors, for
// subtest names.
func (r Row) String(factors []Factor) string {
	var b []string
	for _, f := range factors {
		if v, ok := r[f.Name]; ok {
			b = append(b, f.Name+"="+v)
		}
	}
	return strings.Join(b, ",")
}

// Pair is two values of two factors, A's factor before B's in the table.
type Pair struct{ A, B [2]string } // {factor, value}

func (p Pair) String() string {
	return fmt.Sprintf("%s=%s,%s=%s", p.A[0], p.A[1], p.B[0], p.B[1])
}

// Pairwise returns an all-pairs covering array of factors: rows in which
// every pair of values of any two factors appears at least once, far
// fewer rows than the full product (a pairwise table catches the faults
// that need two features to meet, which is most of them). valid says
// whether a partial row is allowed; it must be decidable pair by pair,
// that is a row is valid when each pair in it is. Pairs that valid
// refuses are returned apart, as invalid, for the caller to test as
// errors.
//
// The generation is deterministic and greedy, after AETG (Cohen et al.,
// 1997) without its randomness: each row starts with the first pair not
// covered yet, in table order, then takes for each other factor, in
// order, the allowed value that covers the most new pairs with the
// values already in the row, the first such value on a tie, going back
// to the next best when a later factor is left with no allowed value. A
// pair that no whole row can hold is returned as invalid too.
func Pairwise(factors []Factor, valid func(Row) bool) (rows []Row, invalid []Pair, err error) {
	covered := map[Pair]bool{}
	var pairs []Pair
	for i, fa := range factors {
		for _, fb := range factors[i+1:] {
			for _, va := range fa.Values {
				for _, vb := range fb.Values {
					p := Pair{[2]string{fa.Name, va}, [2]string{fb.Name, vb}}
					if valid(Row{fa.Name: va, fb.Name: vb}) {
						pairs = append(pairs, p)
					} else {
						invalid = append(invalid, p)
					}
				}
			}
		}
	}
	gain := func(r Row, name, v string) int {
		n := 0
		for k, w := range r {
			if !covered[orderedPair(factors, k, w, name, v)] {
				n++
			}
		}
		return n
	}
	for _, seed := range pairs {
		if covered[seed] {
			continue
		}
		r := Row{seed.A[0]: seed.A[1], seed.B[0]: seed.B[1]}
		if !complete(factors, valid, r, gain) {
			// Allowed alone, impossible in a whole row: the constraints
			// together rule it out (rootless allows only one network,
			// which allows no -p). It is an error case too.
			invalid = append(invalid, seed)
			covered[seed] = true
			continue
		}
		for i, fa := range factors {
			for _, fb := range factors[i+1:] {
				covered[Pair{[2]string{fa.Name, r[fa.Name]}, [2]string{fb.Name, r[fb.Name]}}] = true
			}
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 && len(pairs) > 0 {
		return nil, nil, fmt.Errorf("pairwise: no row satisfies the constraints")
	}
	return rows, invalid, nil
}

// complete gives r a value for each factor it lacks, in table order, the
// allowed value of most gain first, and backtracks when a later factor
// has no allowed value left; it reports whether r could be completed.
func complete(factors []Factor, valid func(Row) bool, r Row, gain func(Row, string, string) int) bool {
	var next *Factor
	for i := range factors {
		if _, ok := r[factors[i].Name]; !ok {
			next = &factors[i]
			break
		}
	}
	if next == nil {
		return true
	}
	type cand struct {
		v    string
		gain int
	}
	var cands []cand
	for _, v := range next.Values {
		r[next.Name] = v
		ok := valid(r)
		delete(r, next.Name)
		if ok {
			cands = append(cands, cand{v, gain(r, next.Name, v)})
		}
	}
	// Most gain first; on a tie, table order (a stable sort keeps it).
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].gain > cands[j].gain })
	for _, c := range cands {
		r[next.Name] = c.v
		if complete(factors, valid, r, gain) {
			return true
		}
		delete(r, next.Name)
	}
	return false
}

// orderedPair makes the Pair of two factor values, in table order.
func orderedPair(factors []Factor, n1, v1, n2, v2 string) Pair {
	for _, f := range factors {
		switch f.Name {
		case n1:
			return Pair{[2]string{n1, v1}, [2]string{n2, v2}}
		case n2:
			return Pair{[2]string{n2, v2}, [2]string{n1, v1}}
		}
	}
	return Pair{}
}

// Excluded is a valid function for Pairwise built from pairs of
// "factor=value" patterns, where a pattern's value may list alternatives
// ("net=none|host"): a row is valid unless it holds both sides of one.
func Excluded(pairs ...[2]string) func(Row) bool {
	matches := func(r Row, pat string) bool {
		name, values, _ := strings.Cut(pat, "=")
		v, ok := r[name]
		if !ok {
			return false
		}
		for _, alt := range strings.Split(values, "|") {
			if alt == v {
				return true
			}
		}
		return false
	}
	return func(r Row) bool {
		for _, p := range pairs {
			if matches(r, p[0]) && matches(r, p[1]) {
				return false
			}
		}
		return true
	}
}
