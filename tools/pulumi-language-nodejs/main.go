// pulumi-language-nodejs: the language host that `pulumi up/preview/refresh/destroy` starts for a
// project whose Pulumi.yaml says `runtime: nodejs`.
//
// Why this exists: we build the Pulumi CLI offline from the Go module proxy (scripts/build-pulumi.sh),
// and the proxy here refuses (403) every version of Pulumi's own host module,
// github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3. Without a host the CLI can only
// run inline Automation API programs, not the project directories under examples/.
//
// What it does: it follows upstream's sdk/nodejs/cmd/pulumi-language-nodejs/main.go (v3.25x) for plain
// Node programs. Run resolves `@pulumi/pulumi/cmd/run` from the program directory with
// `node -e require.resolve(...)`, starts `node [nodeargs] <run> --monitor .. --engine .. --organization ..
// --project .. --root-directory .. --stack .. --pwd <programDir> [--dry-run] --parallel N [--tracing ..]
// <entryPoint> [args]` with PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS and, for the `typescript` runtime
// option (default true), PULUMI_NODEJS_TYPESCRIPT=true, so cmd/run registers ts-node for .ts programs
// exactly as upstream. Exit code 32 from cmd/run means "the error was already shown", answered with
// Bail so the engine does not report it twice.
//
// Deliberate differences from upstream, none of which @pulumi/pulumi 3.259 notices:
//   - The node process gets the engine's monitor address directly. Upstream puts a pass-through gRPC
//     proxy in between, plus "--sync" FIFOs for synchronous invokes that the Node SDK no longer reads
//     (runtime/settings.js tryGetSyncInvokes has no callers).
//   - No bun runtime, no debugger attach, no RunPlugin (policy packs / Node plugins), no codegen
//     (GenerateProgram/Project/Package, Pack, Link): those answer Unimplemented.
//   - InstallDependencies installs nothing (we are offline); it says so and succeeds.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/shlex"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/contract"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	// Overridable with PULUMI_LANGUAGE_NODEJS_RUN_PATH, as upstream (used by its tests).
	defaultRunPath = "@pulumi/pulumi/cmd/run"
	// cmd/run exits with this code after it has already logged a user-actionable error
	// (nodeJSProcessExitedAfterLoggingUserActionableMessage in cmd/run/index.js).
	exitCodeErrorAlreadyReported = 32
)

func main() {
	var tracing, runtimeName string
	flag.StringVar(&tracing, "tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	flag.StringVar(&runtimeName, "runtime", "nodejs", "Runtime for the program; only `nodejs` is supported")
	showVersion := flag.Bool("version", false, "Print the current plugin version and exit")
	flag.Parse() // -v and --logtostderr, which the engine may pass, are registered by the logging package.
	if *showVersion {
		fmt.Println(version.Version)
		os.Exit(0)
	}
	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-nodejs", "pulumi-language-nodejs", tracing)
	if runtimeName != "nodejs" {
		cmdutil.Exit(fmt.Errorf("unsupported runtime: %s (this build of pulumi-language-nodejs supports only nodejs)",
			runtimeName))
	}

	// The engine passes its own address as the only positional argument; newer engines may instead
	// send it in Handshake.
	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	// Stop serving on Ctrl-C, or when the engine stops answering health checks (as upstream does),
	// so that an orphaned host never lingers.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	stopServing := make(chan bool)
	go func() {
		<-ctx.Done()
		cancel()
		close(stopServing)
	}()
	// The engine's health check takes minutes to notice a killed engine; a host whose
	// parent (the engine) is gone - reparented to init - stops at once instead.
	go func(parent int) {
		for range time.Tick(500 * time.Millisecond) {
			if os.Getppid() != parent {
				cancel()
				return
			}
		}
	}(os.Getppid())
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	host := newLanguageHost(engineAddress, tracing)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stopServing,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	// The engine reads the port from our first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

type nodeLanguageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
	cancelCtx     context.Context // cancelled by the Cancel RPC; interrupts a running program
	cancelFunc    context.CancelFunc
}

func newLanguageHost(engineAddress, tracing string) *nodeLanguageHost {
	ctx, cancel := context.WithCancel(context.Background())
	return &nodeLanguageHost{engineAddress: engineAddress, tracing: tracing, cancelCtx: ctx, cancelFunc: cancel}
}

func (host *nodeLanguageHost) engine() string {
	host.mu.Lock()
	defer host.mu.Unlock()
	return host.engineAddress
}

// nodeOptions are the Pulumi.yaml `runtime.options` the upstream host understands for node.
type nodeOptions struct {
	typescript     bool   // let cmd/run register ts-node (default true)
	tsconfigpath   string // passed as PULUMI_NODEJS_TSCONFIG_PATH
	nodeargs       string // extra node arguments, shell-split
	packagemanager npm.PackageManagerType
}

func parseOptions(options map[string]any) (nodeOptions, error) {
	opts := nodeOptions{typescript: true, packagemanager: npm.AutoPackageManager}
	if v, ok := options["typescript"]; ok {
		b, ok := v.(bool)
		if !ok {
			return opts, errors.New("typescript option must be a boolean")
		}
		opts.typescript = b
	}
	if v, ok := options["tsconfig"]; ok {
		s, ok := v.(string)
		if !ok {
			return opts, errors.New("tsconfigpath option must be a string")
		}
		opts.tsconfigpath = s
	}
	if v, ok := options["nodeargs"]; ok {
		s, ok := v.(string)
		if !ok {
			return opts, errors.New("nodeargs option must be a string")
		}
		opts.nodeargs = s
	}
	if v, ok := options["packagemanager"]; ok {
		s, ok := v.(string)
		if !ok {
			return opts, errors.New("packagemanager option must be a string")
		}
		switch pm := npm.PackageManagerType(s); pm {
		case npm.AutoPackageManager, npm.NpmPackageManager, npm.YarnPackageManager,
			npm.PnpmPackageManager, npm.BunPackageManager:
			opts.packagemanager = pm
		default:
			return opts, fmt.Errorf("packagemanager option must be one of auto, npm, yarn, pnpm or bun, got %q", s)
		}
	}
	return opts, nil
}

func (host *nodeLanguageHost) Handshake(ctx context.Context,
	req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	host.mu.Lock()
	host.engineAddress = req.EngineAddress
	host.mu.Unlock()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (host *nodeLanguageHost) GetPluginInfo(ctx context.Context, _ *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// GetRequiredPlugins is superseded by GetRequiredPackages; upstream also answers Unimplemented.
func (host *nodeLanguageHost) GetRequiredPlugins(ctx context.Context,
	req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return nil, status.Errorf(codes.Unimplemented, "method GetRequiredPlugins not implemented")
}

// GetRequiredPackages reports every package under node_modules whose package.json says
// `"pulumi": {"resource": true}`, like upstream. Scan errors are logged, never fatal.
func (host *nodeLanguageHost) GetRequiredPackages(ctx context.Context,
	req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	packages, err := packagesFromDir(req.GetInfo().GetProgramDirectory(), false, map[string]bool{})
	if err != nil {
		logging.V(3).Infof("one or more errors while discovering plugins: %s", err)
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

func packagesFromDir(dir string, inNodeModules bool, visited map[string]bool) ([]*pulumirpc.PackageDependency, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if visited[dir] {
		return nil, nil
	}
	visited[dir] = true
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading plugin dir %s: %w", dir, err)
	}
	var packages []*pulumirpc.PackageDependency
	var errs []error
	for _, entry := range entries {
		path, isDir := filepath.Join(dir, entry.Name()), entry.IsDir()
		if entry.Type()&fs.ModeSymlink != 0 { // follow links (e.g. a symlinked node_modules), once
			if path, err = filepath.EvalSymlinks(path); err != nil {
				errs = append(errs, err)
				continue
			}
			fi, err := os.Stat(path)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			isDir = fi.IsDir()
		}
		switch {
		case isDir:
			// A nested policy pack's plugins are not dependencies of the program.
			if policyPack, err := workspace.DetectPolicyPackPathAt(path); err != nil || policyPack != "" {
				if err != nil {
					errs = append(errs, err)
				}
				continue
			}
			more, err := packagesFromDir(path, inNodeModules || filepath.Base(dir) == "node_modules", visited)
			if err != nil {
				errs = append(errs, err)
			}
			packages = append(packages, more...)
		case inNodeModules && entry.Name() == "package.json":
			dep, err := packageDependency(path)
			if err != nil {
				errs = append(errs, err)
			} else if dep != nil {
				packages = append(packages, dep)
			}
		}
	}
	return packages, errors.Join(errs...)
}

// packageDependency reads one node_modules package.json; nil when it carries no resource plugin.
func packageDependency(path string) (*pulumirpc.PackageDependency, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading package.json %s: %w", path, err)
	}
	var info struct {
		Name    string                  `json:"name"`
		Version string                  `json:"version"`
		Pulumi  plugin.PulumiPluginJSON `json:"pulumi"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("unmarshaling package.json %s: %w", path, err)
	}
	if !info.Pulumi.Resource {
		return nil, nil
	}
	name := info.Pulumi.Name
	if name == "" {
		// Only @pulumi/* packages may leave the plugin name implicit.
		if !strings.HasPrefix(info.Name, "@pulumi/") {
			return nil, fmt.Errorf("Missing property \"name\" for the third-party plugin '%v' "+
				"inside package.json under the \"pulumi\" section (%s)", info.Name, path)
		}
		name = strings.TrimPrefix(info.Name, "@pulumi/")
	}
	ver := info.Pulumi.Version
	if ver == "" {
		ver = info.Version
	}
	if ver == "" {
		return nil, fmt.Errorf("Missing expected \"version\" property in %s", path)
	}
	if !strings.HasPrefix(ver, "v") {
		ver = "v" + ver
	}
	param := func(p *plugin.PulumiParameterizationJSON) *pulumirpc.PackageParameterization {
		if p == nil {
			return nil
		}
		return &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version, Value: p.Value}
	}
	return &pulumirpc.PackageDependency{
		Name: name, Kind: "resource", Version: ver, Server: info.Pulumi.Server,
		Parameterization: param(info.Pulumi.Parameterization),
		Extension:        param(info.Pulumi.ExtensionParameterization),
	}, nil
}

// locateModule resolves a module from programDir, with upstream's hint when @pulumi/pulumi is missing.
func locateModule(ctx context.Context, mod, programDir, nodeBin string) (string, error) {
	// One line: Volta's Windows shims mishandle newlines in arguments (pulumi/pulumi#16393).
	script := fmt.Sprintf(`try { console.log(require.resolve('%s')); } catch (error) {`+
		` if (error.code === 'MODULE_NOT_FOUND') { console.error("It looks like the Pulumi SDK has not been`+
		` installed. Have you run pulumi install?") } else { console.error(error.message); } process.exit(1); }`, mod)
	cmd := exec.CommandContext(ctx, nodeBin, "-e", script)
	cmd.Dir = programDir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", errors.New(string(ee.Stderr))
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func (host *nodeLanguageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	fail := func(format string, a ...any) (*pulumirpc.RunResponse, error) {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf(format, a...)}, nil
	}
	// Current engines always send Info; Pwd/Program are the pre-ProgramInfo fields.
	programDir, entryPoint := req.GetInfo().GetProgramDirectory(), req.GetInfo().GetEntryPoint()
	if programDir == "" {
		programDir = req.GetPwd()
	}
	if entryPoint == "" {
		entryPoint = req.GetProgram()
	}
	if entryPoint == "" {
		entryPoint = "."
	}
	if req.GetAttachDebugger() {
		return fail("attaching a debugger is not supported by this build of pulumi-language-nodejs")
	}
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return fail("%s", err)
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fail("could not find node on the $PATH: %s", err)
	}
	runPath := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if runPath == "" {
		runPath = defaultRunPath
	}
	if runPath, err = locateModule(ctx, runPath, programDir, nodeBin); err != nil {
		return fail("%s", err)
	}

	config, err := constructConfig(req)
	if err != nil {
		return fail("failed to serialize configuration: %s", err)
	}
	secretKeys := "[]"
	if keys := req.GetConfigSecretKeys(); keys != nil {
		b, err := json.Marshal(keys)
		if err != nil {
			return fail("failed to serialize configuration secret keys: %s", err)
		}
		secretKeys = string(b)
	}
	env := append(os.Environ(), "PULUMI_CONFIG="+config, "PULUMI_CONFIG_SECRET_KEYS="+secretKeys)
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfigpath != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfigpath)
	}
	nodeArgs, err := shlex.Split(opts.nodeargs)
	if err != nil {
		return fail("%s", err)
	}
	nodeArgs = append(nodeArgs, host.runArguments(req, runPath, programDir, entryPoint)...)
	logging.V(5).Infof("Language host launching process: %s %s", nodeBin, strings.Join(nodeArgs, " "))

	// Interrupt node (then kill after 5s) on the Cancel RPC or when the engine abandons the request.
	cmdCtx, cmdCancel := context.WithCancel(host.cancelCtx)
	defer cmdCancel()
	stop := context.AfterFunc(ctx, cmdCancel)
	defer stop()
	cmd := exec.CommandContext(cmdCtx, nodeBin, nodeArgs...)
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = env
	// Node may switch its stdio to non-blocking mode; wrapping the writers makes exec copy through a
	// goroutine instead of handing node our own descriptors (upstream's runWithOutput note).
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	stderrReader, stderrWriter := io.Pipe()
	cmd.Stderr = stderrWriter
	sniffer := newOOMSniffer(io.TeeReader(stderrReader, os.Stderr))

	runErr := cmd.Run()
	contract.IgnoreClose(stderrWriter) // lets the sniffer see EOF
	if runErr == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	// Node does not always flush process.stdout/stderr writes before exiting.
	contract.IgnoreError(os.Stdout.Sync())
	contract.IgnoreError(os.Stderr.Sync())
	var exitErr *exec.ExitError
	if !errors.As(runErr, &exitErr) {
		return fail("Problem executing program (could not run language executor): %s", runErr)
	}
	switch code := exitErr.ExitCode(); code {
	case 0:
		return fail("Program exited unexpectedly: %s", exitErr)
	case exitCodeErrorAlreadyReported:
		// cmd/run already showed the user an actionable error: stop without adding another.
		return &pulumirpc.RunResponse{Bail: true}, nil
	default:
		if sniffer.wait() {
			return fail("Program exited with non-zero exit code: %d. %s", code, oomMessage)
		}
		return fail("Program exited with non-zero exit code: %d", code)
	}
}

// runArguments builds cmd/run's command line, in upstream's order.
func (host *nodeLanguageHost) runArguments(req *pulumirpc.RunRequest, runPath, programDir, entryPoint string) []string {
	args := []string{runPath}
	maybeAppend := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	maybeAppend("monitor", req.GetMonitorAddress())
	maybeAppend("engine", host.engine())
	maybeAppend("organization", req.GetOrganization())
	maybeAppend("project", req.GetProject())
	maybeAppend("root-directory", req.GetInfo().GetRootDirectory())
	maybeAppend("stack", req.GetStack())
	maybeAppend("pwd", programDir)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	maybeAppend("parallel", strconv.Itoa(int(req.GetParallel())))
	maybeAppend("tracing", host.tracing)
	args = append(args, entryPoint)
	return append(args, req.GetArgs()...)
}

// constructConfig serializes the stack config for PULUMI_CONFIG. Keys use the legacy
// `<namespace>:config:<name>` form, as upstream still does; the SDK accepts both forms.
func constructConfig(req *pulumirpc.RunRequest) (string, error) {
	configMap := req.GetConfig()
	if configMap == nil {
		return "{}", nil
	}
	out := make(map[string]string, len(configMap))
	for k, v := range configMap {
		pk, err := config.ParseKey(k)
		if err != nil {
			return "", err
		}
		out[pk.Namespace()+":config:"+pk.Name()] = v
	}
	b, err := json.Marshal(out)
	return string(b), err
}

const oomMessage = "Detected a possible out of memory error. Consider increasing the memory available to the " +
	"nodejs process by setting the `nodeargs` runtime option in Pulumi.yaml to `nodeargs: --max-old-space-size=<size>` " +
	"where `<size>` is the maximum memory in megabytes that can be allocated to nodejs. " +
	"See https://www.pulumi.com/docs/concepts/projects/project-file/#runtime-options"

// oomSniffer watches node's stderr for V8's out-of-memory report, to add upstream's hint to the error.
type oomSniffer struct {
	detected bool
	done     chan struct{}
}

func newOOMSniffer(r io.Reader) *oomSniffer {
	s := &oomSniffer{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		scanner := bufio.NewScanner(r)
		for scanner.Scan() {
			line := scanner.Text()
			// The second pattern: our inspector hooks can turn the OOM into a failed V8 check (pulumi/pulumi#16596).
			if strings.Contains(line, "<--- Last few GCs --->") ||
				strings.Contains(line, "Check failed: needs_context && current_scope_ == closure_scope_") {
				s.detected = true
			}
		}
		// Keep draining so node never blocks on a full pipe after a scanner error (very long line).
		_, _ = io.Copy(io.Discard, r)
	}()
	return s
}

// wait returns whether an OOM was seen, once stderr has been read to the end (at most 15s).
func (s *oomSniffer) wait() bool {
	select {
	case <-s.done:
		return s.detected
	case <-time.After(15 * time.Second):
		return false
	}
}

func (host *nodeLanguageHost) Cancel(ctx context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	host.cancelFunc()
	return &emptypb.Empty{}, nil
}

// InstallDependencies would run the package manager upstream; we build offline with dependencies
// already in place, so it only says so.
func (host *nodeLanguageHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, _, err := rpcutil.MakeInstallDependenciesStreams(server, req.IsTerminal)
	if err != nil {
		return err
	}
	defer closer.Close()
	fmt.Fprintf(stdout, "Skipping dependency installation in %s: this build of pulumi-language-nodejs does not "+
		"install packages; run your package manager yourself.\n", req.GetInfo().GetProgramDirectory())
	return closer.Close()
}

func (host *nodeLanguageHost) RuntimeOptionsPrompts(ctx context.Context,
	req *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (host *nodeLanguageHost) Template(ctx context.Context,
	req *pulumirpc.TemplateRequest,
) (*pulumirpc.TemplateResponse, error) {
	return &pulumirpc.TemplateResponse{}, nil
}

// About reports node and the package manager, as upstream (`pulumi about`).
func (host *nodeLanguageHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return nil, fmt.Errorf("failed to parse options: %w", err)
	}
	pm, err := npm.ResolvePackageManager(opts.packagemanager, req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, fmt.Errorf("could not resolve packagemanager: %w", err)
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find executable \"node\": %w", err)
	}
	resp := &pulumirpc.AboutResponse{Executable: nodeBin, Metadata: map[string]string{"packagemanager": pm.Name()}}
	if out, err := exec.CommandContext(ctx, nodeBin, "--version").Output(); err == nil {
		resp.Version = strings.TrimSpace(string(out))
	}
	if v, err := pm.Version(); err == nil {
		resp.Metadata["packagemanagerVersion"] = v.String()
	}
	return resp, nil
}

// GetProgramDependencies lists installed packages through the package manager, as upstream.
func (host *nodeLanguageHost) GetProgramDependencies(ctx context.Context,
	req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return nil, fmt.Errorf("failed to parse options: %w", err)
	}
	pm, err := npm.ResolvePackageManager(opts.packagemanager, req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, fmt.Errorf("failed to determine package manager: %w", err)
	}
	packages, err := pm.ListPackages(ctx, req.GetInfo().GetProgramDirectory(), req.TransitiveDependencies)
	if err != nil {
		return nil, fmt.Errorf("failed to get node dependencies: %w", err)
	}
	deps := make([]*pulumirpc.DependencyInfo, len(packages))
	for i, p := range packages {
		deps[i] = &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version}
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}
