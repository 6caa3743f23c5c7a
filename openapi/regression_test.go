package openapi_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/portico-dev/portico/openapi"
)

// bodySpec is a document of the given version whose POST /v takes a
// required JSON body described by schema (YAML), next to the component
// schemas comps (YAML, indented under components.schemas).
func bodySpec(version, schema, comps string) string {
	doc := "openapi: " + version + `
info: {title: t, version: '1'}
paths:
  /v:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: ` + schema + `
      responses:
        '204': {description: ok}
`
	if comps != "" {
		doc += "components:\n  schemas:\n" + comps
	}
	return doc
}

// post validates a JSON body against spec and returns the violations, or
// nil when the request passes.
func post(t *testing.T, spec *openapi.Spec, body string, opts ...openapi.Option) []openapi.Violation {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	_, err := openapi.NewValidator(spec, opts...).ValidateRequest(req)
	if err == nil {
		return nil
	}
	ve, ok := errors.AsType[*openapi.ValidationError](err)
	if !ok {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	if len(ve.Violations) == 0 {
		return []openapi.Violation{{Message: ve.Detail}}
	}
	return ve.Violations
}

func mustParse(t *testing.T, doc string, opts ...openapi.LoadOption) *openapi.Spec {
	t.Helper()
	s, err := openapi.Parse([]byte(doc), opts...)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return s
}

func TestRefSiblingsAreIgnoredIn30AndAppliedIn31(t *testing.T) {
	t.Parallel()
	const schema = "{type: object, properties: {n: {$ref: '#/components/schemas/Name', maxLength: 3}}}"
	const comps = "    Name: {type: string}\n"
	tests := []struct {
		name, version string
		want          []openapi.Violation
	}{
		{name: "OpenAPI 3.0 ignores maxLength beside a $ref", version: "3.0.3"},
		{name: "OpenAPI 3.1 applies maxLength beside a $ref", version: "3.1.0",
			want: []openapi.Violation{v("body", "", "/n", "must be at most 3 characters long", "maxLength")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := post(t, mustParse(t, bodySpec(tc.version, schema, comps)), `{"n":"abcdef"}`)
			if !equalViolations(got, tc.want) {
				t.Errorf("violations = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadOnlyBesideARefIsIgnoredIn30(t *testing.T) {
	t.Parallel()
	const schema = "{type: object, properties: {n: {$ref: '#/components/schemas/Name', readOnly: true}}}"
	spec := mustParse(t, bodySpec("3.0.3", schema, "    Name: {type: string}\n"))
	if got := post(t, spec, `{"n":"x"}`); got != nil {
		t.Errorf("violations = %v, want none: a sibling of $ref means nothing in 3.0", got)
	}
}

func TestTheDiscriminatorDoesNotChangeTheOutcome(t *testing.T) {
	t.Parallel()
	const schema = `{oneOf: [{$ref: '#/components/schemas/OptionOne'}, {$ref: '#/components/schemas/OptionTwo'}], discriminator: {propertyName: discrim}}`
	const comps = `    OptionOne: {type: object, properties: {discrim: {type: string}, optionone: {type: integer}}}
    OptionTwo: {type: object, required: [optiontwo], properties: {discrim: {type: string}, optiontwo: {type: integer}}}
`
	tests := []struct {
		name, body string
		want       []openapi.Violation
	}{
		{name: "a value both alternatives accept is refused", body: `{"discrim":"OptionOneNoDisc","optionone":1,"optiontwo":2}`,
			want: []openapi.Violation{v("body", "", "", "must match exactly one schema in oneOf, matched 0 and 1", "oneOf")}},
		{name: "a value only one alternative accepts passes though the discriminator names the other", body: `{"discrim":"OptionTwo","optionone":1}`},
		{name: "a value only one alternative accepts passes though the discriminator names none", body: `{"discrim":"OptionThree","optionone":1}`},
		{name: "a value no alternative accepts is reported against the alternative the discriminator names", body: `{"discrim":"OptionTwo","optionone":"x"}`,
			want: []openapi.Violation{v("body", "", "/optiontwo", "is required", "required")}},
	}
	for _, version := range []string{"3.0.3", "3.1.0"} {
		spec := mustParse(t, bodySpec(version, schema, comps))
		for _, tc := range tests {
			t.Run(version+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				if got := post(t, spec, tc.body); !equalViolations(got, tc.want) {
					t.Errorf("violations = %v, want %v", got, tc.want)
				}
			})
		}
	}
}

func TestNumbersKeepTheirDigitsThroughLoading(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"3.0.3", "3.1.0"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			spec := mustParse(t, bodySpec(version, "{type: number, maximum: 9007199254740993, multipleOf: 0.5}", ""))
			if got := post(t, spec, `9007199254740993`); got != nil {
				t.Errorf("the maximum itself: violations = %v, want none", got)
			}
			want := []openapi.Violation{v("body", "", "", "must be <= 9007199254740993", "maximum")}
			if got := post(t, spec, `9007199254740994`); !equalViolations(got, want) {
				t.Errorf("one more: violations = %v, want %v", got, want)
			}
			want = []openapi.Violation{v("body", "", "", "must be a multiple of 0.5", "multipleOf")}
			if got := post(t, spec, `7.2`); !equalViolations(got, want) {
				t.Errorf("7.2: violations = %v, want %v", got, want)
			}
			if got, want := string(spec.JSON()), `"maximum":9007199254740993`; !strings.Contains(got, want) {
				t.Errorf("served JSON %s does not contain %s", got, want)
			}
			docs, err := openapi.NewDocs(spec)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := serve(t, docs, "/openapi.yaml"), "maximum: 9007199254740993"; !strings.Contains(got, want) {
				t.Errorf("served YAML does not contain %q:\n%s", want, got)
			}
		})
	}
}

func TestConstNullAndAnEmptyEnumAreKept(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, schema, body, served string
		want                       []openapi.Violation
	}{
		{
			name:   "const null refuses a string",
			schema: "{const: null}",
			body:   `"x"`,
			served: `"const":null`,
			want:   []openapi.Violation{v("body", "", "", "value must be null", "const")},
		},
		{
			name:   "const null accepts null",
			schema: "{const: null}",
			body:   `null`,
			served: `"const":null`,
		},
		{
			name:   "an empty enum refuses everything",
			schema: "{enum: []}",
			body:   `"x"`,
			served: `"enum":[]`,
			want:   []openapi.Violation{v("body", "", "", "no value is allowed: the enum is empty", "enum")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := mustParse(t, bodySpec("3.1.0", tc.schema, ""))
			if got := post(t, spec, tc.body); !equalViolations(got, tc.want) {
				t.Errorf("violations = %v, want %v", got, tc.want)
			}
			if !strings.Contains(string(spec.JSON()), tc.served) {
				t.Errorf("served JSON %s does not contain %s", spec.JSON(), tc.served)
			}
		})
	}
}

func TestValid31DocumentsLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, schema, comps, good, bad string
	}{
		{
			name:   "an unknown keyword is kept as an annotation",
			schema: "{type: string, foo: 1}",
			good:   `"a"`,
			bad:    `1`,
		},
		{
			name:   "a reference to a URN $id resolves",
			schema: "{$ref: 'urn:example:name'}",
			comps:  "    Name: {$id: 'urn:example:name', type: string}\n",
			good:   `"a"`,
			bad:    `1`,
		},
		{
			name:   "a reference to an $anchor resolves",
			schema: "{$ref: '#name'}",
			comps:  "    Name: {$anchor: name, type: string}\n",
			good:   `"a"`,
			bad:    `1`,
		},
		{
			name:   "a reference into a component's $defs resolves",
			schema: "{$ref: '#/components/schemas/Outer/$defs/inner'}",
			comps:  "    Outer: {$defs: {inner: {type: string}}}\n",
			good:   `"a"`,
			bad:    `1`,
		},
		{
			name:   "a default that breaks its schema is an annotation",
			schema: "{type: integer, default: x}",
			good:   `1`,
			bad:    `"x"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := mustParse(t, bodySpec("3.1.0", tc.schema, tc.comps))
			if got := post(t, spec, tc.good); got != nil {
				t.Errorf("%s: violations = %v, want none", tc.good, got)
			}
			if got := post(t, spec, tc.bad); len(got) == 0 {
				t.Errorf("%s: passed, want a violation", tc.bad)
			}
		})
	}
}

func TestA30DefaultThatBreaksItsSchemaIsRefused(t *testing.T) {
	t.Parallel()
	// OpenAPI 3.0: "the value MUST conform to the defined type".
	_, err := openapi.Parse([]byte(bodySpec("3.0.3", "{type: integer, default: x}", "")))
	if err == nil {
		t.Fatal("loaded; want an error about the default")
	}
	if !strings.Contains(err.Error(), "default") {
		t.Errorf("error %q does not mention the default", err)
	}
}

func TestAllowEmptyValueIsEnforced(t *testing.T) {
	t.Parallel()
	const doc = `openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /users:
    get:
      parameters:
        - {name: username, in: query, required: true, schema: {type: string}}
        - {name: q, in: query, schema: {type: string}}
        - {name: flag, in: query, allowEmptyValue: true, schema: {type: boolean}}
        - {name: ids, in: query, style: pipeDelimited, schema: {type: array, items: {type: string}}}
      responses:
        '204': {description: ok}
`
	spec := mustParse(t, doc)
	empty := func(name string) []openapi.Violation {
		return []openapi.Violation{v("query", name, "", "must not be empty: the parameter does not allow an empty value", "allowEmptyValue")}
	}
	tests := []struct {
		name, query string
		want        []openapi.Violation
	}{
		{name: "a required parameter sent empty is refused", query: "username=", want: empty("username")},
		{name: "an optional parameter sent empty is refused", query: "username=a&q=", want: empty("q")},
		{name: "a parameter that allows an empty value may be sent empty", query: "username=a&flag="},
		{name: "a parameter that allows an empty value is still validated when it has one", query: "username=a&flag=maybe",
			want: []openapi.Violation{v("query", "flag", "", "must be boolean, got string", "type")}},
		{name: "a style that cannot write an empty value is not concerned", query: "username=a&ids="},
		{name: "a parameter left out is not empty", query: "username=a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/users?"+tc.query, nil)
			_, err := openapi.NewValidator(spec).ValidateRequest(req)
			var got []openapi.Violation
			if ve, ok := errors.AsType[*openapi.ValidationError](err); ok {
				got = ve.Violations
			}
			if !equalViolations(got, tc.want) {
				t.Errorf("violations = %v, want %v (%v)", got, tc.want, err)
			}
		})
	}
}

func TestNullableWithAnEnumWithoutNullRefusesNull(t *testing.T) {
	t.Parallel()
	spec := mustParse(t, bodySpec("3.0.3", "{type: string, nullable: true, enum: [a, b]}", ""))
	want := []openapi.Violation{v("body", "", "", "value must be one of 'a', 'b'", "enum")}
	if got := post(t, spec, `null`); !equalViolations(got, want) {
		t.Errorf("violations = %v, want %v", got, want)
	}
}

func TestLooseNullableAdmitsNullWhereverNullableIsWritten(t *testing.T) {
	t.Parallel()
	const comps = "    Owner: {type: object, required: [name], properties: {name: {type: string}}}\n"
	tests := []struct {
		name, schema string
	}{
		{name: "nullable beside allOf", schema: "{type: object, properties: {o: {nullable: true, allOf: [{$ref: '#/components/schemas/Owner'}]}}}"},
		{name: "nullable beside a $ref", schema: "{type: object, properties: {o: {$ref: '#/components/schemas/Owner', nullable: true}}}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := bodySpec("3.0.3", tc.schema, comps)
			if got := post(t, mustParse(t, doc), `{"o":null}`); len(got) == 0 {
				t.Error("by default: null passed, want it refused as the 3.0.3 text says")
			}
			loose := mustParse(t, doc, openapi.WithLooseNullable())
			if got := post(t, loose, `{"o":null}`); got != nil {
				t.Errorf("WithLooseNullable: violations = %v, want none", got)
			}
			want := []openapi.Violation{v("body", "", "/o/name", "is required", "required")}
			if got := post(t, loose, `{"o":{}}`); !equalViolations(got, want) {
				t.Errorf("WithLooseNullable on an object: violations = %v, want %v", got, want)
			}
		})
	}
}

func TestAMultiFileSpecKeepsTheNumbersOfEveryFile(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"api.yaml": {Data: []byte(bodySpec("3.1.0", "{$ref: 'schemas/big.yaml#/Big'}", ""))},
		"schemas/big.yaml": {Data: []byte(`Big:
  type: object
  properties:
    n: {type: integer, maximum: 9007199254740993}
    tag: {$ref: '#/Tag'}
Tag: {type: string, maxLength: 3}
`)},
	}
	spec, err := openapi.LoadFS(fsys, "api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	served := string(spec.JSON())
	for _, want := range []string{`"maximum":9007199254740993`, `"$ref":"#/components/schemas/Big"`, `"$ref":"#/components/schemas/Tag"`} {
		if !strings.Contains(served, want) {
			t.Errorf("served JSON does not contain %s", want)
		}
	}
	if strings.Contains(served, "big.yaml") {
		t.Errorf("served JSON still refers to big.yaml: it must stand alone: %s", served)
	}
	tests := []struct {
		body string
		want []openapi.Violation
	}{
		{body: `{"n":9007199254740993,"tag":"abc"}`},
		{body: `{"n":9007199254740994}`, want: []openapi.Violation{v("body", "", "/n", "must be <= 9007199254740993", "maximum")}},
		{body: `{"tag":"abcd"}`, want: []openapi.Violation{v("body", "", "/tag", "must be at most 3 characters long", "maxLength")}},
	}
	for _, tc := range tests {
		if got := post(t, spec, tc.body); !equalViolations(got, tc.want) {
			t.Errorf("%s: violations = %v, want %v", tc.body, got, tc.want)
		}
	}
}

func equalViolations(got, want []openapi.Violation) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func serve(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, w.Code)
	}
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

func TestAHugeExponentIsRefusedRatherThanCrashingTheEngine(t *testing.T) {
	t.Parallel()
	// multipleOf keeps the schema on the full engine, whose exact
	// arithmetic cannot represent 1E1000001.
	spec := mustParse(t, bodySpec("3.1.0", "{type: object, properties: {n: {type: number, minimum: 0, multipleOf: 1}}}", ""))
	want := []openapi.Violation{{In: "body", Message: "must not hold a number whose decimal exponent is beyond ±10000"}}
	for _, body := range []string{`{"n":1E1000001}`, `{"n":1e-20000}`} {
		if got := post(t, spec, body); !equalViolations(got, want) {
			t.Errorf("%s: violations = %v, want %v", body, got, want)
		}
	}
	if got := post(t, spec, `{"n":1e300}`); got != nil {
		t.Errorf("1e300: violations = %v, want none", got)
	}
}
