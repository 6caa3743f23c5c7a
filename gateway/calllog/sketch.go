package calllog

import "math"

// Sketch is a quantile sketch with a relative-error guarantee, in the
// manner of DDSketch: a value v > 0 falls into bucket ceil(log_γ v) with
// γ = (1+α)/(1-α), and a quantile is answered with the bucket's midpoint,
// which is within a relative error α of every value in the bucket. Values
// <= 0 are counted in a zero bucket. Memory grows with the logarithm of the
// range of values, not with their number.
//
// A Sketch is not safe for concurrent use.
type Sketch struct {
	alpha    float64
	gamma    float64
	logGamma float64
	offset   int      // bucket index of counts[0]
	counts   []uint64 // dense buckets from offset
	zero     uint64
	n        uint64
}

// NewSketch returns an empty sketch whose quantiles are within relative
// error alpha (0 < alpha < 1) of an exact quantile of the added values.
// It panics on an alpha out of range.
func NewSketch(alpha float64) *Sketch {
	if !(alpha > 0 && alpha < 1) {
		panic("portico/calllog: NewSketch needs 0 < alpha < 1")
	}
	g := (1 + alpha) / (1 - alpha)
	return &Sketch{alpha: alpha, gamma: g, logGamma: math.Log(g)}
}

// Add counts one value.
func (s *Sketch) Add(v float64) { s.addIndex(s.index(v)) }

// zeroIndex marks values counted in the zero bucket.
const zeroIndex = math.MinInt

// index returns the bucket of v, or zeroIndex.
func (s *Sketch) index(v float64) int {
	if !(v > 0) {
		return zeroIndex
	}
	if math.IsInf(v, 1) {
		v = math.MaxFloat64
	}
	return int(math.Ceil(math.Log(v) / s.logGamma))
}

// addIndex counts one value of bucket i, from index on a sketch of the
// same alpha.
func (s *Sketch) addIndex(i int) {
	s.n++
	if i == zeroIndex {
		s.zero++
		return
	}
	s.grow(i)
	s.counts[i-s.offset]++
}

func (s *Sketch) grow(i int) {
	switch {
	case len(s.counts) == 0:
		s.offset = i
		s.counts = make([]uint64, 1, 64)
	case i < s.offset:
		n := make([]uint64, len(s.counts)+s.offset-i)
		copy(n[s.offset-i:], s.counts)
		s.counts, s.offset = n, i
	case i >= s.offset+len(s.counts):
		s.counts = append(s.counts, make([]uint64, i-s.offset-len(s.counts)+1)...)
	}
}

// Count returns the number of values added.
func (s *Sketch) Count() uint64 { return s.n }

// Quantile returns an estimate of the q-quantile (0 <= q <= 1): the value
// of rank floor(q·(n-1)) among the sorted values, within the sketch's
// relative error. It returns 0 for an empty sketch.
func (s *Sketch) Quantile(q float64) float64 {
	if s.n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(q * float64(s.n-1))
	if rank < s.zero {
		return 0
	}
	seen := s.zero
	for j, c := range s.counts {
		seen += c
		if seen > rank {
			i := j + s.offset
			return 2 * math.Pow(s.gamma, float64(i)) / (s.gamma + 1)
		}
	}
	return 2 * math.Pow(s.gamma, float64(s.offset+len(s.counts)-1)) / (s.gamma + 1)
}

// Merge adds the values counted by o to s. Both must have the same alpha;
// Merge panics otherwise.
func (s *Sketch) Merge(o *Sketch) {
	if o.alpha != s.alpha {
		panic("portico/calllog: Sketch.Merge needs sketches of the same alpha")
	}
	if len(o.counts) > 0 {
		s.grow(o.offset)
		s.grow(o.offset + len(o.counts) - 1)
		for j, c := range o.counts {
			s.counts[j+o.offset-s.offset] += c
		}
	}
	s.zero += o.zero
	s.n += o.n
}
