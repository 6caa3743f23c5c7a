package fields

import (
	"errors"
	"fmt"
)

// Collector gathers the errors a check finds, each naming its field, so
// that one build reports every problem at once. A Collector is a small
// value: [Collector.At] returns a view that prefixes field names and adds
// to the same list. Its zero value is not usable; make one with
// [NewCollector].
type Collector struct {
	list *[]error
	at   string
	mk   func(path, msg string) error
}

// NewCollector returns an empty Collector whose errors mk makes from a
// field path and a message.
func NewCollector(mk func(path, msg string) error) Collector {
	return Collector{list: new([]error), mk: mk}
}

// At returns a view of c whose fields sit under field: in
// c.At("routes[0]"), "path" names "routes[0].path".
func (c Collector) At(field string) Collector {
	c.at = c.Path(field)
	return c
}

// Path names field under c's prefix; an empty field names the prefix.
func (c Collector) Path(field string) string {
	switch {
	case c.at == "":
		return field
	case field == "":
		return c.at
	}
	return c.at + "." + field
}

// Addf records that field is wrong, with a message made as by fmt.Sprintf.
func (c Collector) Addf(field, format string, args ...any) {
	*c.list = append(*c.list, c.mk(c.Path(field), fmt.Sprintf(format, args...)))
}

// Add records err as it is; a nil err is ignored.
func (c Collector) Add(errs ...error) {
	for _, err := range errs {
		if err != nil {
			*c.list = append(*c.list, err)
		}
	}
}

// Len reports how many errors c holds, its views' included.
func (c Collector) Len() int { return len(*c.list) }

// Errors returns the errors c holds, its views' included, in the order
// they were added.
func (c Collector) Errors() []error { return *c.list }

// Err returns nil, the one error, or all of them joined one per line.
func (c Collector) Err() error {
	if len(*c.list) == 1 {
		return (*c.list)[0]
	}
	return errors.Join(*c.list...)
}
