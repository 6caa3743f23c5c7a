package ratelimit_test

import (
	"log/slog"
	"strconv"
	"strings"
)

func hasSub(s, sub string) bool { return strings.Contains(s, sub) }

func slogNew(h slog.Handler) *slog.Logger { return slog.New(h) }

func fmtInt(i int) string { return strconv.Itoa(i) }
