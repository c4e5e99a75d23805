// Command pulumi-resource-command is a stand-in for Pulumi's `command` provider (pulumi-resource-command
// v1.2.1), built by scripts/toolchain for machines that cannot download Pulumi's release.
//
// Why it exists: the upstream provider's Go module (github.com/pulumi/pulumi-command/provider) and the
// framework it is written with (github.com/pulumi/pulumi-go-provider) are not served by the Go module proxy this
// project's machines reach, so it cannot be built from source here. This provider speaks the real provider gRPC
// protocol (pulumi/pkg v3.248.0) and implements the resources @pulumi/command 1.2.1 exposes —
// command:local:Command, command:remote:Command, command:remote:CopyToRemote and the command:local:run invoke —
// with upstream's documented behaviour:
//   - create runs `create`; an update runs `update`, or `create` again when `update` is unset; delete runs the
//     `delete` saved at the last create/update, with the connection saved then;
//   - a failed create or update is a plain error: the engine records no partial state (a failed create leaves
//     nothing in the state, a failed update leaves the state of the last success), as upstream's framework does;
//   - a change to `triggers` replaces the resource, any other input change updates it in place;
//   - nothing runs during preview, and stdout/stderr are unknown there;
//   - stdout/stderr have one trailing newline trimmed; the previous run's output is offered to the next run as
//     PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR unless addPreviousOutputInEnv is false;
//   - the connection is always secret (upstream's `provider:"secret"`), stdout/stderr never are unless the
//     program lists them in additionalSecretOutputs (upstream's framework flows secretness only between an input
//     and the output of the same name);
//   - remote connections default to user root, port 22, dialErrorLimit 10 (that many retries after the first
//     attempt), 15 s per dial; without hostKey the host key is not checked; with it only that key is accepted and
//     only its algorithm is offered (so a pinned ssh-rsa key negotiates SHA-1 "ssh-rsa", as upstream).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/pkg/v3/resource/provider"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is set by scripts/toolchain with -ldflags -X to the version @pulumi/command asks for.
var version = "1.2.1"

const (
	tokLocalCommand  = "command:local:Command"
	tokRemoteCommand = "command:remote:Command"
	tokCopyToRemote  = "command:remote:CopyToRemote"
	tokLocalRun      = "command:local:run"
)

type server struct {
	pulumirpc.UnimplementedResourceProviderServer
	host *provider.HostClient
}

func main() {
	err := provider.Main("command", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &server{host: host}, nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: %v\n", err)
		os.Exit(1)
	}
}

// logf sends a message to the engine, shown under the resource in `pulumi up`.
func (s *server) logf(ctx context.Context, sev diag.Severity, urn string, format string, args ...any) {
	if s.host != nil {
		_ = s.host.Log(ctx, sev, resource.URN(urn), fmt.Sprintf(format, args...))
	}
}

func (s *server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// GetSchema returns a minimal schema: the engine needs none to run programs, and code generation for this
// package is done by the published @pulumi/command SDK.
func (s *server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":"command","version":%q}`, version)}, nil
}

func (s *server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *server) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (s *server) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func (s *server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (s *server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	failures := checkInputs(resource.URN(req.GetUrn()).Type().String(), news)
	inputs, err := marshal(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

func (s *server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		// State written without recorded inputs: the outputs hold every input too.
		if olds, err = unmarshal(req.GetOlds()); err != nil {
			return nil, err
		}
		for _, k := range []resource.PropertyKey{"stdout", "stderr", "assets", "archive"} {
			delete(olds, k)
		}
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	return diffInputs(olds, news, req.GetIgnoreChanges()), nil
}

func (s *server) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	urn := resource.URN(req.GetUrn())
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	id, err := resource.NewUniqueHex(urn.Name(), 8, 0) // upstream: name + 8 random hex digits, no separator
	if err != nil {
		return nil, err
	}
	outs, err := s.apply(ctx, urn, "create", inputs, resource.PropertyMap{}, req.GetPreview())
	if err != nil {
		// A plain error, as upstream's framework (pulumi-go-provider infer) returns it: the engine records
		// nothing, so the next `pulumi up` runs create again. The program must not expect a failed create to
		// leave anything in the state (no delete command will ever run for it).
		return nil, err
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func (s *server) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	urn := resource.URN(req.GetUrn())
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	outs, err := s.apply(ctx, urn, "update", news, olds, req.GetPreview())
	if err != nil {
		// Upstream too: the engine keeps the state of the last successful create/update, so the next
		// `pulumi up` diffs against it and runs the update again.
		return nil, err
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (s *server) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	urn := resource.URN(req.GetUrn())
	state, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	_, err = s.apply(ctx, urn, "delete", state, state, false)
	return &emptypb.Empty{}, err
}

// Read returns the stored state unchanged: a command's result cannot be read back from anywhere.
func (s *server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (s *server) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != tokLocalRun {
		return nil, fmt.Errorf("unknown function %q: this build of the command provider offers only %s",
			req.GetTok(), tokLocalRun)
	}
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	if f := checkInputs(tokLocalRun, args); len(f) > 0 {
		return &pulumirpc.InvokeResponse{Failures: f}, nil
	}
	out, err := runLocal(ctx, s, "", str(args, "command"), args, resource.PropertyMap{})
	if err != nil {
		return nil, err
	}
	result := args.Copy()
	result["stdout"] = resource.NewStringProperty(out.stdout)
	result["stderr"] = resource.NewStringProperty(out.stderr)
	ret, err := marshal(result)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

// apply runs the command that `op` calls for and returns the new state: inputs plus stdout/stderr.
//
// stdout/stderr are never marked secret here: upstream's framework makes an output secret only when an input of
// the same name is (there is none), so a program marks them with additionalSecretOutputs where they may carry a
// secret — whatever the connection's secretness. A failed run keeps the previous outputs (upstream sets them only
// after success), though the engine records none of it (see Create/Update).
func (s *server) apply(ctx context.Context, urn resource.URN, op string, inputs, olds resource.PropertyMap,
	preview bool,
) (resource.PropertyMap, error) {
	state := inputs.Copy()
	delete(state, "stdout")
	delete(state, "stderr")
	setOut := func(stdout, stderr resource.PropertyValue) { state["stdout"], state["stderr"] = stdout, stderr }
	typ := urn.Type().String()
	if preview {
		if typ != tokCopyToRemote {
			unknown := resource.MakeComputed(resource.NewStringProperty(""))
			setOut(unknown, unknown)
		}
		return state, nil
	}
	// Keep the previous outputs until a command replaces them (an update without a command to run).
	if typ != tokCopyToRemote {
		setOut(resource.NewStringProperty(str(olds, "stdout")), resource.NewStringProperty(str(olds, "stderr")))
	}

	// Upstream runs a command whenever the field is set, even to "" (a remote "" still dials the host).
	key := map[string]string{"create": "create", "update": "update", "delete": "delete"}[op]
	if op == "update" && !has(inputs, "update") {
		key = "create"
	}
	command, run := str(inputs, key), has(inputs, key)

	switch typ {
	case tokCopyToRemote:
		if op == "delete" {
			return state, nil
		}
		return state, copyToRemote(ctx, s, urn, inputs)
	case tokLocalCommand, tokRemoteCommand:
		if !run {
			return state, nil
		}
		var out result
		var err error
		if typ == tokLocalCommand {
			out, err = runLocal(ctx, s, string(urn), command, inputs, olds)
		} else {
			out, err = runRemote(ctx, s, string(urn), command, inputs, olds)
		}
		if err != nil {
			return state, err
		}
		setOut(resource.NewStringProperty(out.stdout), resource.NewStringProperty(out.stderr))
		return state, assetOutputs(state, out)
	default:
		return state, fmt.Errorf("unknown resource type %q: this build of the command provider offers %s, %s and %s",
			typ, tokLocalCommand, tokRemoteCommand, tokCopyToRemote)
	}
}

// assetOutputs records the files that assetPaths/archivePaths matched, as assets and as one archive.
func assetOutputs(state resource.PropertyMap, out result) error {
	if out.assets != nil {
		m := resource.PropertyMap{}
		for rel, p := range out.assets {
			a, err := resource.NewPathAsset(p)
			if err != nil {
				return err
			}
			m[resource.PropertyKey(rel)] = resource.NewAssetProperty(a)
		}
		state["assets"] = resource.NewObjectProperty(m)
	}
	if out.archive != nil {
		members := map[string]any{}
		for rel, p := range out.archive {
			a, err := resource.NewPathAsset(p)
			if err != nil {
				return err
			}
			members[rel] = a
		}
		ar, err := resource.NewAssetArchive(members)
		if err != nil {
			return err
		}
		state["archive"] = resource.NewArchiveProperty(ar)
	}
	return nil
}
