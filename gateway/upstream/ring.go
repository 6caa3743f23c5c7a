package upstream

import (
	"cmp"
	"slices"
)

const (
	// pointsPerWeight is the number of virtual nodes an instance gets per
	// unit of (gcd-reduced) weight. 1024 keeps each instance's share of the
	// ring within a few percent of its weight.
	pointsPerWeight = 1024
	// maxRingPoints caps the ring; a larger ring is scaled down, which
	// keeps proportions but moves some keys when the pool changes.
	maxRingPoints = 1 << 20
)

type ringPoint struct {
	hash uint64
	idx  int32
}

// ring is a consistent-hash ring with virtual nodes. An instance's points
// depend only on its own key and weight (reduced by the gcd of all
// weights), so when an instance leaves, keys held by the others keep their
// instance.
type ring struct {
	points []ringPoint
}

func newRing(s *set) *ring {
	g := 0
	for _, w := range s.weights {
		g = gcd(g, w)
	}
	if g == 0 {
		return &ring{}
	}
	total := 0
	for _, w := range s.weights {
		total += w / g * pointsPerWeight
	}
	scale := 1.0
	if total > maxRingPoints {
		scale = float64(maxRingPoints) / float64(total)
	}
	r := &ring{points: make([]ringPoint, 0, min(total, maxRingPoints)+len(s.list))}
	for i, in := range s.list {
		n := max(1, int(float64(s.weights[i]/g*pointsPerWeight)*scale))
		base := hashString(in.key)
		for j := range n {
			// A splitmix64 sequence seeded by the instance key.
			h := mix64(base + uint64(j+1)*0x9e3779b97f4a7c15)
			r.points = append(r.points, ringPoint{hash: h, idx: int32(i)})
		}
	}
	slices.SortFunc(r.points, func(a, b ringPoint) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return cmp.Compare(s.list[a.idx].key, s.list[b.idx].key)
	})
	return r
}

func (r *ring) pick(s *set, f filter, key uint64, hasKey bool) *instance {
	if !hasKey || len(r.points) == 0 {
		return s.sample(f)
	}
	// The first point at or after key, wrapping around.
	lo, hi := 0, len(r.points)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if r.points[mid].hash < key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	// Walk clockwise to the first eligible instance; give up after a full
	// turn. Each instance is checked at most once.
	var seen uint64 // bitmap of checked instances for small pools
	for k := range len(r.points) {
		p := r.points[(lo+k)%len(r.points)]
		if p.idx < 64 {
			bit := uint64(1) << p.idx
			if seen&bit != 0 {
				continue
			}
			seen |= bit
		}
		if in := s.list[p.idx]; f.ok(in) {
			return in
		}
		if p.idx < 64 && len(s.list) <= 64 && seen == (uint64(1)<<len(s.list))-1 {
			return nil
		}
	}
	return nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
