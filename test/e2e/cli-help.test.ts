// `awslease --help`, every command's --help, and the usage/validation errors that
// are caught before any engine run: exit 1, one line on stderr, nothing on stdout.
import { afterAll, describe, expect, it } from "vitest";
import { cliRunner, errorLines, expectOneLineError } from "../support/cli";

const runner = cliRunner();
afterAll(() => runner.cleanup());

/** Each command (as argv) and flags its --help must list. */
const HELP: Array<[string[], string[]]> = [
  [
    [],
    [
      "config",
      "role",
      "static-role",
      "static-creds",
      "issue",
      "exec",
      "credential-process",
      "lease",
      "sweep",
      "server",
      "completion",
      "--mount",
      "--backend",
      "--home",
      "--secrets-provider",
      "--quiet",
      "--debug",
    ],
  ],
  [["config"], ["write", "read", "rotate-root"]],
  [
    ["config", "write"],
    [
      "--access-key",
      "--secret-key",
      "--secret-key-stdin",
      "--region",
      "--iam-endpoint",
      "--sts-endpoint",
      "--sts-region",
      "--max-retries",
      "--username-template",
      "--lease",
      "--lease-max",
    ],
  ],
  [
    ["config", "read"],
    ["--format", "--field"],
  ],
  [["config", "rotate-root"], ["--mount"]],
  [["role"], ["write", "read", "list", "delete"]],
  [
    ["role", "write"],
    [
      "--file",
      "-f",
      "--credential-type",
      "--policy-document",
      "--policy-arns",
      "--role-arns",
      "--iam-groups",
      "--iam-tags",
      "--default-sts-ttl",
      "--max-sts-ttl",
      "--user-path",
      "--permissions-boundary-arn",
      "--mfa-serial-number",
      "--session-tags",
      "--external-id",
    ],
  ],
  [
    ["role", "read"],
    ["--format", "--field"],
  ],
  [["static-role"], ["write", "read", "list", "delete", "rotate"]],
  [
    ["static-role", "write"],
    ["--username", "--rotation-period"],
  ],
  [
    ["static-role", "rotate"],
    ["--due", "--format"],
  ],
  [["static-creds"], ["--format", "credential-process", "--shell", "--field", "--profile"]],
  [["role", "list"], ["--format"]],
  [["role", "delete"], ["--mount"]],
  [
    ["issue"],
    [
      "--ttl",
      "--role-arn",
      "--role-session-name",
      "--mfa-code",
      "--no-wait",
      "--format",
      "credential-process",
      "github",
      "dotenv",
      "ini",
      "--reuse",
      "--session",
      "--refresh-window",
      "--shell",
      "--field",
    ],
  ],
  [["credential-process"], ["--ttl", "--session", "--refresh-window", "--no-wait", "credential_process"]],
  [["exec"], ["-- <command> [args...]", "--ttl", "--role-arn", "--role-session-name", "--mfa-code", "--no-wait"]],
  [["lease"], ["list", "lookup", "renew", "revoke", "log"]],
  [
    ["lease", "log"],
    ["--prefix", "--format"],
  ],
  [
    ["lease", "list"],
    ["--prefix", "--expired", "--format"],
  ],
  [
    ["lease", "lookup"],
    ["--format", "--field"],
  ],
  [["lease", "renew"], ["--increment"]],
  [
    ["lease", "revoke"],
    ["--prefix", "--ignore-missing", "--parallel", "--break-lock"],
  ],
  [["sweep"], ["--dry-run", "--min-age", "--parallel"]],
  [
    ["server"],
    [
      "--listen",
      "--tls-cert",
      "--tls-key",
      "--insecure-no-tls",
      "--audit-log",
      "--max-concurrent-issues",
      "--max-queued",
      "--shutdown-grace",
      "--expiration-rescan",
      "--sweep-interval",
      "--warm-provider",
    ],
  ],
];

describe("awslease --help", () => {
  it.each(HELP)("awslease %j --help exits 0 and lists its flags", async (command, flags) => {
    const r = await runner.run([...command, "--help"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^awslease ${command.join(" ")}`.trim()));
    for (const flag of flags) expect(r.stdout).toContain(flag);
  });

  it("completion prints yargs' bash/zsh script; the completions it asks for name the commands", async () => {
    const r = await runner.run(["completion"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("###-begin-awslease-completions-###");
    const words = await runner.run(["--get-yargs-completions", "static"]);
    expect(words.stdout.split("\n")).toEqual(expect.arrayContaining(["static-role", "static-creds", "issue"]));
  });

  it("AWSLEASE_FORMAT sets the default --format where the command has it", async () => {
    const json = await runner.run(["role", "list", "--help"], { env: { AWSLEASE_FORMAT: "json" } });
    expect(json.stdout).toMatch(/--format[^\n]*\n?[^\n]*\[default: "json"\]/);
    // Not one of lease list's formats: its own default stays.
    const env = await runner.run(["lease", "list", "--help"], { env: { AWSLEASE_FORMAT: "env" } });
    expect(env.stdout).toMatch(/--format[^\n]*\n?[^\n]*\[default: "table"\]/);
  });

  it("Vault's single-dash -field is read as --field (not as -f -i -e -l -d)", async () => {
    const r = await runner.run(["lease", "lookup", "not-a-lease-id", "-field", "ttl"]);
    expectOneLineError(r, 1, /lease_id.*not-a-lease-id/);
  });

  it("--version prints the package version", async () => {
    const r = await runner.run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(require("../../package.json").version);
  });
});

describe("usage and validation errors before the engine: exit 1, one line", () => {
  const cases: Array<[string, string[], RegExp]> = [
    ["unknown flag", ["issue", "dev", "--bogus-flag"], /bogus-flag/],
    ["unknown command", ["frobnicate"], /frobnicate/],
    ["missing role argument", ["issue"], /argument|role/i],
    ["missing subcommand", ["lease"], /argument|command/i],
    ["invalid --format choice", ["issue", "dev", "--format", "xml"], /format/],
    ["malformed lease id", ["lease", "lookup", "not-a-lease-id"], /lease_id.*not-a-lease-id/],
    ["revoke without id or --prefix", ["lease", "revoke"], /lease-id|prefix/],
    ["exec without a command", ["exec", "dev"], /command/],
    ["invalid mount name", ["lease", "list", "--mount", "bad/mount"], /mount/],
  ];
  it.each(cases)("%s", async (_name, args, pattern) => {
    const r = await runner.run(args);
    expectOneLineError(r, 1, pattern);
    // No stack trace without --debug.
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("--debug adds the stack trace after the error line", async () => {
    const r = await runner.run(["lease", "lookup", "not-a-lease-id", "--debug"]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")[0]).toMatch(/^awslease: error: lease_id: /);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it("no passphrase and no secrets provider: exit 1 naming PULUMI_CONFIG_PASSPHRASE", async () => {
    const r = await runner.run(["lease", "list"], { env: { PULUMI_CONFIG_PASSPHRASE: undefined } });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain("PULUMI_CONFIG_PASSPHRASE");
  });

  it("a command on a mount that was never configured: exit 1 saying to run config write", async () => {
    const r = await runner.run(["issue", "dev", "--mount", "never-configured"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/mount "never-configured" is not configured.*config write/)]);
  });
});
