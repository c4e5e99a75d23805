package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// packageJSON is the part of a package.json that tells whether a package needs a resource plugin.
type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// findNodeModules returns the node_modules folder Node would use for dir (dir's own or the nearest parent's).
func findNodeModules(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		nm := filepath.Join(d, "node_modules")
		if st, err := os.Stat(nm); err == nil && st.IsDir() {
			return nm
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// pluginPackages lists every installed package that declares `"pulumi": {"resource": true}`, which is how
// Pulumi provider SDKs say which provider plugin (name and version) they need.
func pluginPackages(dir string) ([]*pulumirpc.PackageDependency, error) {
	nm := findNodeModules(dir)
	if nm == "" {
		return nil, nil
	}
	seen := map[string]bool{}
	visited := map[string]bool{}
	var out []*pulumirpc.PackageDependency
	var walk func(nodeModules string, depth int) error
	walk = func(nodeModules string, depth int) error {
		real, err := filepath.EvalSymlinks(nodeModules)
		if err != nil || visited[real] || depth > 8 {
			return nil
		}
		visited[real] = true
		entries, err := os.ReadDir(nodeModules)
		if err != nil {
			return err
		}
		var pkgDirs []string
		for _, e := range entries {
			p := filepath.Join(nodeModules, e.Name())
			if strings.HasPrefix(e.Name(), "@") {
				scoped, err := os.ReadDir(p)
				if err != nil {
					continue
				}
				for _, s := range scoped {
					pkgDirs = append(pkgDirs, filepath.Join(p, s.Name()))
				}
				continue
			}
			if !strings.HasPrefix(e.Name(), ".") {
				pkgDirs = append(pkgDirs, p)
			}
		}
		for _, pd := range pkgDirs {
			pj, err := readPackageJSON(filepath.Join(pd, "package.json"))
			if err == nil && pj.Pulumi.Resource {
				dep := pluginDependency(pj)
				key := dep.Name + "@" + dep.Version
				if dep.Name != "" && !seen[key] {
					seen[key] = true
					out = append(out, dep)
				}
			}
			if err := walk(filepath.Join(pd, "node_modules"), depth+1); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		return nil
	}
	if err := walk(nm, 0); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func pluginDependency(p *packageJSON) *pulumirpc.PackageDependency {
	name := p.Pulumi.Name
	if name == "" {
		name = strings.TrimPrefix(p.Name, "@pulumi/")
		name = strings.TrimPrefix(name, "@")
	}
	v := p.Pulumi.Version
	if v == "" {
		v = p.Version
	}
	if v != "" && !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	return &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: v, Server: p.Pulumi.Server}
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	pkgs, err := pluginPackages(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

//nolint:staticcheck // older engines still call the deprecated variant
func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	pkgs, err := pluginPackages(dir)
	if err != nil {
		return nil, err
	}
	var plugins []*pulumirpc.PluginDependency
	for _, p := range pkgs {
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// GetProgramDependencies reports the project's direct dependencies with their installed versions.
func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	pj, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the project's package.json: %w", err)
	}
	nm := findNodeModules(dir)
	names := make([]string, 0, len(pj.Dependencies)+len(pj.DevDependencies))
	for n := range pj.Dependencies {
		names = append(names, n)
	}
	for n := range pj.DevDependencies {
		names = append(names, n)
	}
	sort.Strings(names)
	var deps []*pulumirpc.DependencyInfo
	for _, n := range names {
		v := ""
		if nm != "" {
			if installed, err := readPackageJSON(filepath.Join(nm, n, "package.json")); err == nil {
				v = installed.Version
			}
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: n, Version: v})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}
