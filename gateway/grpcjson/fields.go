package grpcjson

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// wellKnownScalar reports whether a message type is written in JSON as a
// string or number (Timestamp, Duration, FieldMask, the wrappers), so
// that a path or query value can fill it.
func wellKnownScalar(md protoreflect.MessageDescriptor) bool {
	switch md.FullName() {
	case "google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask",
		"google.protobuf.StringValue", "google.protobuf.BytesValue", "google.protobuf.BoolValue",
		"google.protobuf.Int32Value", "google.protobuf.Int64Value", "google.protobuf.UInt32Value",
		"google.protobuf.UInt64Value", "google.protobuf.FloatValue", "google.protobuf.DoubleValue":
		return true
	}
	return false
}

// setField sets the field at path in msg from a text value, appending
// to a repeated field.
func setField(msg protoreflect.Message, path []string, value string) error {
	fds, err := fieldPath(msg.Descriptor(), path)
	if err != nil {
		return err
	}
	for _, fd := range fds[:len(fds)-1] {
		msg = msg.Mutable(fd).Message()
	}
	fd := fds[len(fds)-1]
	if fd.IsMap() {
		return fmt.Errorf("field %s is a map", fd.Name())
	}
	if fd.Kind() == protoreflect.MessageKind {
		if !wellKnownScalar(fd.Message()) {
			return fmt.Errorf("field %s is a message", fd.Name())
		}
		m := msg.NewField(fd)
		if fd.IsList() {
			m = msg.Mutable(fd).List().NewElement()
		}
		if err := protojson.Unmarshal([]byte(strconv.Quote(value)), m.Message().Interface()); err != nil {
			return fmt.Errorf("field %s: %q is not a valid %s", fd.Name(), value, fd.Message().Name())
		}
		if fd.IsList() {
			msg.Mutable(fd).List().Append(m)
		} else {
			msg.Set(fd, m)
		}
		return nil
	}
	v, err := scalar(fd, value)
	if err != nil {
		return err
	}
	if fd.IsList() {
		msg.Mutable(fd).List().Append(v)
		return nil
	}
	msg.Set(fd, v)
	return nil
}

// scalar parses value as the kind of fd.
func scalar(fd protoreflect.FieldDescriptor, value string) (protoreflect.Value, error) {
	bad := func() (protoreflect.Value, error) {
		return protoreflect.Value{}, fmt.Errorf("field %s: %q is not a valid %s", fd.Name(), value, fd.Kind())
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(value), nil
	case protoreflect.BytesKind:
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(value); err == nil {
				return protoreflect.ValueOfBytes(b), nil
			}
		}
		return bad()
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return bad()
		}
		return protoreflect.ValueOfBool(b), nil
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByName(protoreflect.Name(value)); ev != nil {
			return protoreflect.ValueOfEnum(ev.Number()), nil
		}
		n, err := strconv.ParseInt(value, 10, 32)
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("field %s: %q is not a value of %s", fd.Name(), value, fd.Enum().FullName())
		}
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := strconv.ParseInt(value, 10, 32)
		if err != nil {
			return bad()
		}
		return protoreflect.ValueOfInt32(int32(n)), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return bad()
		}
		return protoreflect.ValueOfInt64(n), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			return bad()
		}
		return protoreflect.ValueOfUint32(uint32(n)), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			return bad()
		}
		return protoreflect.ValueOfUint64(n), nil
	case protoreflect.FloatKind:
		f, err := strconv.ParseFloat(value, 32)
		if err != nil || math.IsInf(f, 0) && !strings.Contains(strings.ToLower(value), "inf") {
			return bad()
		}
		return protoreflect.ValueOfFloat32(float32(f)), nil
	case protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return bad()
		}
		return protoreflect.ValueOfFloat64(f), nil
	}
	return bad()
}
