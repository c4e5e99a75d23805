package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

var marshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true, SkipNulls: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(s, marshalOpts)
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, marshalOpts)
}

// plain strips secret and output wrappers, which only matter for what the engine records, not for running.
func plain(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput() && v.OutputValue().Known:
			v = v.OutputValue().Element
		default:
			return v
		}
	}
}

func str(m resource.PropertyMap, key string) string {
	v := plain(m[resource.PropertyKey(key)])
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

func has(m resource.PropertyMap, key string) bool {
	v, ok := m[resource.PropertyKey(key)]
	return ok && !v.IsNull()
}

func boolOr(m resource.PropertyMap, key string, def bool) bool {
	v := plain(m[resource.PropertyKey(key)])
	if v.IsBool() {
		return v.BoolValue()
	}
	return def
}

func numOr(m resource.PropertyMap, key string, def float64) float64 {
	v := plain(m[resource.PropertyKey(key)])
	if v.IsNumber() {
		return v.NumberValue()
	}
	return def
}

func strList(m resource.PropertyMap, key string) []string {
	v := plain(m[resource.PropertyKey(key)])
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e = plain(e); e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

func strMap(m resource.PropertyMap, key string) map[string]string {
	v := plain(m[resource.PropertyKey(key)])
	if !v.IsObject() {
		return nil
	}
	out := map[string]string{}
	for k, e := range v.ObjectValue() {
		if e = plain(e); e.IsString() {
			out[string(k)] = e.StringValue()
		}
	}
	return out
}

func object(m resource.PropertyMap, key string) resource.PropertyMap {
	v := plain(m[resource.PropertyKey(key)])
	if v.IsObject() {
		return v.ObjectValue()
	}
	return nil
}

// Accepted inputs per type, so that a misspelt field fails in preview instead of being silently ignored.
var (
	commonLocal = []string{"stdin", "logging", "interpreter", "dir", "environment", "assetPaths", "archivePaths",
		"addPreviousOutputInEnv"}
	fields = map[string][]string{
		tokLocalCommand: append([]string{"create", "update", "delete", "triggers"}, commonLocal...),
		tokLocalRun:     append([]string{"command"}, commonLocal...),
		tokRemoteCommand: {"connection", "environment", "triggers", "create", "update", "delete", "stdin", "logging",
			"addPreviousOutputInEnv"},
		tokCopyToRemote: {"connection", "triggers", "source", "remotePath"},
	}
	connectionFields = []string{"user", "password", "host", "port", "privateKey", "privateKeyPassword",
		"agentSocketPath", "dialErrorLimit", "perDialTimeout", "hostKey", "proxy"}
	loggingValues = []string{"stdout", "stderr", "stdoutAndStderr", "none"}
)

// checkInputs validates inputs and fills in upstream's defaults in place (only the connection's: upstream
// declares no default for addPreviousOutputInEnv, it treats an unset one as true). Failure messages name fields, never
// values, because connection fields hold secrets.
func checkInputs(typ string, in resource.PropertyMap) []*pulumirpc.CheckFailure {
	allowed, ok := fields[typ]
	if !ok {
		return []*pulumirpc.CheckFailure{{Reason: fmt.Sprintf("unknown type %q", typ)}}
	}
	var failures []*pulumirpc.CheckFailure
	fail := func(prop, format string, args ...any) {
		failures = append(failures, &pulumirpc.CheckFailure{Property: prop, Reason: fmt.Sprintf(format, args...)})
	}
	for _, k := range sortedKeys(in) {
		if !contains(allowed, k) {
			fail(k, "unknown property %q; %s accepts: %s", k, typ, strings.Join(allowed, ", "))
		}
	}
	if l := plain(in["logging"]); l.IsString() && !contains(loggingValues, l.StringValue()) {
		fail("logging", "logging must be one of %s", strings.Join(loggingValues, ", "))
	}
	if typ == tokLocalRun && !has(in, "command") {
		fail("command", "missing required property 'command'")
	}
	if typ == tokRemoteCommand || typ == tokCopyToRemote {
		if !has(in, "connection") {
			fail("connection", "missing required property 'connection'")
		} else {
			c := in["connection"]
			if !c.ContainsUnknowns() {
				c = withConnectionDefaults(c, "connection", fail)
			}
			// Upstream declares the connection `provider:"secret"`: it is stored encrypted even when the program
			// passed it in plain text.
			if !c.IsSecret() {
				c = resource.MakeSecret(c)
			}
			in["connection"] = c
		}
	}
	if typ == tokCopyToRemote {
		if !has(in, "source") {
			fail("source", "missing required property 'source' (an asset or archive)")
		}
		if !has(in, "remotePath") {
			fail("remotePath", "missing required property 'remotePath'")
		}
	}
	return failures
}

func withConnectionDefaults(v resource.PropertyValue, path string, fail func(string, string, ...any),
) resource.PropertyValue {
	if v.IsSecret() {
		return resource.MakeSecret(withConnectionDefaults(v.SecretValue().Element, path, fail))
	}
	if !v.IsObject() {
		fail(path, "%s must be an object", path)
		return v
	}
	c := v.ObjectValue().Copy()
	for _, k := range sortedKeys(c) {
		if !contains(connectionFields, k) || (k == "proxy" && path != "connection") {
			fail(path+"."+k, "unknown property %q in %s", k, path)
		}
	}
	if !has(c, "host") {
		fail(path+".host", "missing required property '%s.host'", path)
	}
	defaults := map[resource.PropertyKey]resource.PropertyValue{
		"user": resource.NewStringProperty("root"), "port": resource.NewNumberProperty(22),
		"dialErrorLimit": resource.NewNumberProperty(10), "perDialTimeout": resource.NewNumberProperty(15),
	}
	for k, d := range defaults {
		if !has(c, string(k)) {
			c[k] = d
		}
	}
	if p, ok := c["proxy"]; ok && !p.IsNull() && !p.ContainsUnknowns() {
		c["proxy"] = withConnectionDefaults(p, path+".proxy", fail)
	}
	return resource.NewObjectProperty(c)
}

// diffInputs compares old and new inputs: a change to triggers replaces, any other change updates in place.
func diffInputs(olds, news resource.PropertyMap, ignore []string) *pulumirpc.DiffResponse {
	keys := map[string]bool{}
	for k := range olds {
		keys[string(k)] = true
	}
	for k := range news {
		keys[string(k)] = true
	}
	resp := &pulumirpc.DiffResponse{DetailedDiff: map[string]*pulumirpc.PropertyDiff{}, HasDetailedDiff: true}
	for _, k := range sortedSet(keys) {
		if contains(ignore, k) {
			continue
		}
		o, n := olds[resource.PropertyKey(k)], news[resource.PropertyKey(k)]
		if !n.ContainsUnknowns() && stripSecrets(o).DeepEquals(stripSecrets(n)) {
			continue
		}
		replace := k == "triggers"
		kind := pick(replace, pulumirpc.PropertyDiff_UPDATE_REPLACE, pulumirpc.PropertyDiff_UPDATE)
		switch {
		case o.IsNull():
			kind = pick(replace, pulumirpc.PropertyDiff_ADD_REPLACE, pulumirpc.PropertyDiff_ADD)
		case n.IsNull():
			kind = pick(replace, pulumirpc.PropertyDiff_DELETE_REPLACE, pulumirpc.PropertyDiff_DELETE)
		}
		if replace {
			resp.Replaces = append(resp.Replaces, k)
		}
		resp.Diffs = append(resp.Diffs, k)
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	resp.Changes = pulumirpc.DiffResponse_DIFF_NONE
	if len(resp.Diffs) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp
}

func pick(cond bool, a, b pulumirpc.PropertyDiff_Kind) pulumirpc.PropertyDiff_Kind {
	if cond {
		return a
	}
	return b
}

func stripSecrets(v resource.PropertyValue) resource.PropertyValue {
	v = plain(v)
	switch {
	case v.IsArray():
		arr := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			arr[i] = stripSecrets(e)
		}
		return resource.NewArrayProperty(arr)
	case v.IsObject():
		obj := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			obj[k] = stripSecrets(e)
		}
		return resource.NewObjectProperty(obj)
	}
	return v
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func sortedKeys(m resource.PropertyMap) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
