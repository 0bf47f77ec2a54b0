package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

var printer = message.NewPrinter(language.English)

// The Kubernetes schemas are derived from the Go types of k8s.io/api (registered in client-go's scheme), the same
// types the API server's OpenAPI document is generated from: a field is required when its json tag has neither
// omitempty nor omitzero, and every object is strict (an unknown field is an error, as kubeconform -strict).
// Quantities and int-or-string values follow their wire formats. Enum values and server-side validations (name
// lengths, cross-field rules) are not checked.

// quantityPattern is resource.Quantity's textual form (resource.ParseQuantity).
const quantityPattern = `^[+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`

var (
	quantityType    = reflect.TypeFor[resource.Quantity]()
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
	timeType        = reflect.TypeFor[metav1.Time]()
	microTimeType   = reflect.TypeFor[metav1.MicroTime]()
	durationType    = reflect.TypeFor[metav1.Duration]()
	rawType         = reflect.TypeFor[runtime.RawExtension]()
	fieldsType      = reflect.TypeFor[metav1.FieldsV1]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

type schemaBuilder struct{ defs map[string]any }

func defName(t reflect.Type) string {
	return strings.ReplaceAll(t.PkgPath(), "/", ".") + "." + t.Name()
}

func (b *schemaBuilder) schemaFor(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case quantityType:
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "string", "pattern": quantityPattern},
			map[string]any{"type": "number"},
		}}
	case intOrStringType:
		return map[string]any{"type": []any{"integer", "string"}}
	case timeType, microTimeType:
		return map[string]any{"type": []any{"string", "null"}}
	case durationType:
		return map[string]any{"type": "string"}
	case rawType, fieldsType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string"} // []byte: base64
		}
		return map[string]any{"type": "array", "items": b.schemaFor(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": b.schemaFor(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		if reflect.PointerTo(t).Implements(unmarshalerType) {
			return map[string]any{} // a custom wire format this builder does not know: accept anything
		}
		name := defName(t)
		if _, done := b.defs[name]; !done {
			b.defs[name] = nil // placeholder: recursive types refer to themselves
			properties, required := map[string]any{}, []any{}
			b.addFields(t, properties, &required)
			def := map[string]any{"type": "object", "properties": properties, "additionalProperties": false}
			if len(required) > 0 {
				def["required"] = required
			}
			b.defs[name] = def
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	}
	panic(fmt.Sprintf("no schema for Go type %s", t))
}

// addFields adds a struct's JSON fields, inlining embedded structs the way encoding/json does.
func (b *schemaBuilder) addFields(t reflect.Type, properties map[string]any, required *[]any) {
	for i := range t.NumField() {
		field := t.Field(i)
		tag := field.Tag.Get("json")
		if tag == "-" || (!field.IsExported() && !field.Anonymous) {
			continue
		}
		name, options, _ := strings.Cut(tag, ",")
		if field.Anonymous && (name == "" || strings.Contains(","+options+",", ",inline,")) {
			embedded := field.Type
			if embedded.Kind() == reflect.Pointer {
				embedded = embedded.Elem()
			}
			if embedded.Kind() == reflect.Struct {
				b.addFields(embedded, properties, required)
				continue
			}
		}
		if name == "" {
			name = field.Name
		}
		properties[name] = b.schemaFor(field.Type)
		opts := "," + options + ","
		if !strings.Contains(opts, ",omitempty,") && !strings.Contains(opts, ",omitzero,") {
			*required = append(*required, name)
		}
	}
}

type k8sValidator struct {
	types   map[schema.GroupVersionKind]reflect.Type
	schemas map[schema.GroupVersionKind]*jsonschema.Schema
}

// newK8sValidator knows the kinds of k8s.io/api and, from the prometheus-operator's own Go types (the source of its
// CRDs), monitoring.coreos.com/v1 (PrometheusRule and the rest), which the prod overlay ships.
func newK8sValidator() *k8sValidator {
	types := scheme.Scheme.AllKnownTypes()
	operator := runtime.NewScheme()
	if err := monitoringv1.AddToScheme(operator); err != nil {
		panic(err)
	}
	for gvk, t := range operator.AllKnownTypes() {
		if gvk.Group == monitoringv1.SchemeGroupVersion.Group {
			types[gvk] = t
		}
	}
	return &k8sValidator{types: types, schemas: map[schema.GroupVersionKind]*jsonschema.Schema{}}
}

func (v *k8sValidator) schemaFor(gvk schema.GroupVersionKind) (*jsonschema.Schema, error) {
	if compiled, ok := v.schemas[gvk]; ok {
		return compiled, nil
	}
	t, ok := v.types[gvk]
	if !ok {
		return nil, fmt.Errorf("unknown kind %s (no such type in k8s.io/api)", gvk)
	}
	b := &schemaBuilder{defs: map[string]any{}}
	root := b.schemaFor(t)
	root["$defs"] = b.defs
	url := "k8s:" + strings.ToLower(gvk.Kind) + "-" + gvk.Group + "-" + gvk.Version + ".json"
	compiler := jsonschema.NewCompiler()
	if err := compiler.AddResource(url, root); err != nil {
		return nil, err
	}
	compiled, err := compiler.Compile(url)
	if err != nil {
		return nil, err
	}
	v.schemas[gvk] = compiled
	return compiled, nil
}

// validateStream checks every YAML document of a stream; it returns one line per problem.
func (v *k8sValidator) validateStream(source string, in io.Reader) (documents int, problems []string) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	for index := 0; ; index++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return documents, problems
		}
		where := fmt.Sprintf("%s: document %d", source, index+1)
		if err != nil {
			return documents, append(problems, fmt.Sprintf("%s: %v", where, err))
		}
		jsonDoc, err := yaml.YAMLToJSONStrict(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		if bytes.Equal(bytes.TrimSpace(jsonDoc), []byte("null")) {
			continue // an empty document
		}
		documents++
		var doc any
		if err := json.Unmarshal(jsonDoc, &doc); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		object, _ := doc.(map[string]any)
		apiVersion, _ := object["apiVersion"].(string)
		kind, _ := object["kind"].(string)
		if apiVersion == "" || kind == "" {
			problems = append(problems, fmt.Sprintf("%s: missing apiVersion or kind", where))
			continue
		}
		if metadata, ok := object["metadata"].(map[string]any); ok {
			if name, ok := metadata["name"].(string); ok {
				where = fmt.Sprintf("%s (%s %s)", where, kind, name)
			}
		}
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		compiled, err := v.schemaFor(gv.WithKind(kind))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		if err := compiled.Validate(doc); err != nil {
			var verr *jsonschema.ValidationError
			if errors.As(err, &verr) {
				for _, leaf := range leaves(verr) {
					problems = append(problems, fmt.Sprintf("%s: /%s: %s", where, strings.Join(leaf.InstanceLocation, "/"), leaf.ErrorKind.LocalizedString(printer)))
				}
			} else {
				problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			}
		}
	}
}

// leaves are the most specific causes of a validation error.
func leaves(err *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(err.Causes) == 0 {
		return []*jsonschema.ValidationError{err}
	}
	var out []*jsonschema.ValidationError
	for _, cause := range err.Causes {
		out = append(out, leaves(cause)...)
	}
	return out
}
