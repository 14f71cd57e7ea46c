import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LeaseSummary } from "../../service/leaseRecord";
import {
  type LeaseView,
  dotenvQuote,
  formatField,
  formatIssued,
  formatStaticCreds,
  staticCredsBody,
  vaultSecretBody,
  formatKeyValues,
  formatLeaseList,
  formatLookup,
  formatNameList,
  githubActions,
  shellQuote,
} from "../../cli/output";

// A secret with every character that breaks naive quoting.
const NASTY_SECRET = `wJalr'XUt/nF+EMI=K7$MDENG"bPx\\R \`fi$(id)CY`;
const TOKEN = "FwoGZXIvYXdzEJr//////////wEaDH+Tok3n/Ab==";

function stsLease(overrides: Partial<LeaseView> = {}): LeaseView {
  return {
    leaseId: "aws/creds/deploy/3f1c2b7e-0000-4000-8000-000000000001",
    credentialType: "assumed_role",
    accessKey: "ASIAEXAMPLEKEY123456",
    secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+=",
    sessionToken: TOKEN,
    arn: "arn:aws:sts::123456789012:assumed-role/deploy/vault-deploy-1",
    username: "vault-deploy-1",
    issuedAt: "2026-01-01T00:00:00Z",
    expiresAt: "2026-01-01T01:00:00Z",
    leaseDuration: 3600,
    renewable: false,
    warnings: [],
    ...overrides,
  };
}

function iamLease(overrides: Partial<LeaseView> = {}): LeaseView {
  return stsLease({
    leaseId: "aws/creds/dev/3f1c2b7e-0000-4000-8000-000000000002",
    credentialType: "iam_user",
    accessKey: "AKIAEXAMPLEKEY123456",
    sessionToken: undefined,
    arn: undefined,
    username: "vault-dev-1",
    renewable: true,
    ...overrides,
  });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "awslease-output-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `script` in bash after eval-ing `envText`, as `eval "$(awslease issue --format env)"` would. */
function bashAfterEval(envText: string, script: string, extraEnv: Record<string, string> = {}): string {
  const file = join(dir, "env.sh");
  writeFileSync(file, envText);
  return execFileSync("bash", ["-c", `eval "$(cat "$1")"; ${script}`, "bash", file], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...extraEnv },
  });
}

describe("formatIssued json (Vault api.Secret shape)", () => {
  it("STS lease: exact keys in order, session_token and security_token both carry the token", () => {
    const out = formatIssued(stsLease({ warnings: ["ttl clamped to 900s"] }), "json");
    expect(out.endsWith("}\n")).toBe(true);
    const parsed = JSON.parse(out);
    expect(Object.keys(parsed)).toEqual(["lease_id", "lease_duration", "renewable", "expires_at", "data", "warnings"]);
    expect(Object.keys(parsed.data)).toEqual(["access_key", "secret_key", "session_token", "security_token", "arn"]);
    expect(parsed).toEqual({
      lease_id: "aws/creds/deploy/3f1c2b7e-0000-4000-8000-000000000001",
      lease_duration: 3600,
      renewable: false,
      expires_at: "2026-01-01T01:00:00Z",
      data: {
        access_key: "ASIAEXAMPLEKEY123456",
        secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+=",
        session_token: TOKEN,
        security_token: TOKEN,
        arn: "arn:aws:sts::123456789012:assumed-role/deploy/vault-deploy-1",
      },
      warnings: ["ttl clamped to 900s"],
    });
  });

  it("iam_user lease without arn: both tokens and arn are null, warnings an empty array", () => {
    const parsed = JSON.parse(formatIssued(iamLease(), "json"));
    expect(parsed.data).toEqual({
      access_key: "AKIAEXAMPLEKEY123456",
      secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+=",
      session_token: null,
      security_token: null,
      arn: null,
    });
    expect(parsed.renewable).toBe(true);
    expect(parsed.warnings).toEqual([]);
  });
});

describe("formatIssued credential-process", () => {
  it("STS lease: Version 1 with SessionToken and Expiration", () => {
    const out = formatIssued(stsLease(), "credential-process");
    const parsed = JSON.parse(out);
    expect(Object.keys(parsed)).toEqual(["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"]);
    expect(parsed).toEqual({
      Version: 1,
      AccessKeyId: "ASIAEXAMPLEKEY123456",
      SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+=",
      SessionToken: TOKEN,
      Expiration: "2026-01-01T01:00:00Z",
    });
  });

  it("iam_user lease: SessionToken omitted, not null", () => {
    const parsed = JSON.parse(formatIssued(iamLease(), "credential-process"));
    expect(Object.keys(parsed)).toEqual(["Version", "AccessKeyId", "SecretAccessKey", "Expiration"]);
    expect("SessionToken" in parsed).toBe(false);
  });
});

describe("formatIssued env", () => {
  it("round-trips a secret with ', /, +, =, $, quotes, backslash and backticks through bash eval", () => {
    const lease = stsLease({ secretKey: NASTY_SECRET, sessionToken: `tok'en/+=$HOME`, region: "eu-west-1" });
    const out = formatIssued(lease, "env");
    const printed = bashAfterEval(
      out,
      'printf "%s\\n" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_CREDENTIAL_EXPIRATION" "$AWS_REGION" "$AWS_DEFAULT_REGION"; env | grep -c "^AWS_SECRET_ACCESS_KEY="',
    );
    expect(printed).toBe(
      [
        "ASIAEXAMPLEKEY123456",
        NASTY_SECRET,
        `tok'en/+=$HOME`,
        "2026-01-01T01:00:00Z",
        "eu-west-1",
        "eu-west-1",
        "1", // exported, so child processes see it
        "",
      ].join("\n"),
    );
  });

  it("exact lines for an STS lease without region", () => {
    expect(formatIssued(stsLease(), "env")).toBe(
      [
        "export AWS_ACCESS_KEY_ID='ASIAEXAMPLEKEY123456'",
        "export AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+='",
        `export AWS_SESSION_TOKEN='${TOKEN}'`,
        "export AWS_CREDENTIAL_EXPIRATION='2026-01-01T01:00:00Z'",
        "unset AWS_SECURITY_TOKEN",
        "",
      ].join("\n"),
    );
  });

  it("iam_user lease unsets a stale AWS_SESSION_TOKEN (and AWS_SECURITY_TOKEN) from the caller's shell", () => {
    const out = formatIssued(iamLease(), "env");
    expect(out).not.toContain("export AWS_SESSION_TOKEN");
    expect(out).not.toContain("AWS_REGION");
    const printed = bashAfterEval(out, 'echo "${AWS_SESSION_TOKEN-unset} ${AWS_SECURITY_TOKEN-unset} $AWS_ACCESS_KEY_ID"', {
      AWS_SESSION_TOKEN: "stale",
      AWS_SECURITY_TOKEN: "stale",
    });
    expect(printed).toBe("unset unset AKIAEXAMPLEKEY123456\n");
  });

  it("shellQuote escapes embedded single quotes", () => {
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
    expect(shellQuote("")).toBe("''");
  });
});

describe("formatIssued dotenv", () => {
  it("bare KEY=value lines without export; no token line for iam_user", () => {
    expect(formatIssued(iamLease({ region: "us-east-2" }), "dotenv")).toBe(
      [
        "AWS_ACCESS_KEY_ID=AKIAEXAMPLEKEY123456",
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+=",
        "AWS_CREDENTIAL_EXPIRATION=2026-01-01T01:00:00Z",
        "AWS_REGION=us-east-2",
        "AWS_DEFAULT_REGION=us-east-2",
        "",
      ].join("\n"),
    );
  });

  it("includes AWS_SESSION_TOKEN for STS leases", () => {
    expect(formatIssued(stsLease(), "dotenv")).toContain(`\nAWS_SESSION_TOKEN=${TOKEN}\n`);
  });

  it("quotes only when needed", () => {
    expect(dotenvQuote("abc/+=")).toBe("abc/+=");
    expect(dotenvQuote("a b#c$d")).toBe("'a b#c$d'");
    expect(dotenvQuote(`it's "x" $y\\z\nw`)).toBe(`"it's \\"x\\" \\$y\\\\z\\nw"`);
  });
});

/** Minimal ~/.aws/credentials parser: section -> key -> value. */
function parseIni(text: string): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      current = sections[header[1]] = {};
      continue;
    }
    const entry = /^([a-z_]+)\s*=\s*(.*)$/.exec(line);
    if (!entry || !current) throw new Error(`unparsable INI line: ${line}`);
    current[entry[1]] = entry[2];
  }
  return sections;
}

describe("formatIssued ini", () => {
  it("default profile awslease, token and region when present", () => {
    const parsed = parseIni(formatIssued(stsLease({ region: "eu-central-1" }), "ini"));
    expect(parsed).toEqual({
      awslease: {
        aws_access_key_id: "ASIAEXAMPLEKEY123456",
        aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+=",
        aws_session_token: TOKEN,
        aws_credential_expiration: "2026-01-01T01:00:00Z",
        region: "eu-central-1",
      },
    });
  });

  it("named profile, no token or region for a plain iam_user lease", () => {
    const out = formatIssued(iamLease(), "ini", { profile: "ci-dev" });
    expect(out.startsWith("[ci-dev]\n")).toBe(true);
    expect(parseIni(out)).toEqual({
      "ci-dev": {
        aws_access_key_id: "AKIAEXAMPLEKEY123456",
        aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+=",
        aws_credential_expiration: "2026-01-01T01:00:00Z",
      },
    });
  });

  it("refuses a profile name that would break the section header", () => {
    expect(() => formatIssued(iamLease(), "ini", { profile: "a]b" })).toThrow(/--profile: invalid profile name/);
    expect(() => formatIssued(iamLease(), "ini", { profile: "" })).toThrow(/--profile/);
  });

  it("refuses a multi-line secret without echoing it", () => {
    let message = "";
    try {
      formatIssued(iamLease({ secretKey: "line1\nSECRETPART" }), "ini");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("aws_secret_access_key contains a line break");
    expect(message).not.toContain("SECRETPART");
  });
});

describe("formatIssued table", () => {
  it("vault read style Key/Value table with Go durations and warnings at the end", () => {
    const out = formatIssued(stsLease({ warnings: ["ttl clamped to 900s", "second note"] }), "table");
    const lines = out.split("\n");
    expect(lines.slice(0, 2)).toEqual(["Key                Value", "---                -----"]);
    expect(lines).toContain("lease_duration     1h0m0s");
    expect(lines).toContain("lease_renewable    false");
    expect(lines).toContain(`session_token      ${TOKEN}`);
    expect(lines).toContain("arn                arn:aws:sts::123456789012:assumed-role/deploy/vault-deploy-1");
    // Every table row puts its value in the same column.
    const tableRows = lines.slice(0, lines.indexOf(""));
    expect(tableRows.map((l) => l.search(/(?<=\S\s+)\S/))).toEqual(tableRows.map(() => 19));
    expect(out.endsWith("WARNING! The following warnings were returned:\n\n  * ttl clamped to 900s\n  * second note\n")).toBe(true);
  });

  it("omits session_token and arn when absent and has no warning block", () => {
    const out = formatIssued(iamLease({ leaseDuration: 90 }), "table");
    expect(out).not.toContain("session_token");
    expect(out).not.toContain("arn");
    expect(out).not.toContain("WARNING");
    expect(out).toContain("lease_duration     1m30s\n");
  });

  it("rejects an unknown format", () => {
    expect(() => formatIssued(iamLease(), "xml" as never)).toThrow(/unknown output format "xml"/);
  });
});

/** Parses @actions/core file-command text back into [name, value] pairs, checking the delimiters. */
function parseFileCommands(text: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const lines = text.split("\n");
  expect(lines.pop()).toBe(""); // ends in a newline
  let i = 0;
  while (i < lines.length) {
    const head = /^([^<]+)<<(ghadelimiter_[0-9a-f-]{36})$/.exec(lines[i]);
    if (!head) throw new Error(`bad file-command line ${i}: ${lines[i]}`);
    const end = lines.indexOf(head[2], i + 1);
    if (end < 0) throw new Error(`unterminated value for ${head[1]}`);
    pairs.push([head[1], lines.slice(i + 1, end).join("\n")]);
    i = end + 1;
  }
  return pairs;
}

describe("githubActions", () => {
  function files() {
    return { GITHUB_ENV: join(dir, "github_env"), GITHUB_OUTPUT: join(dir, "github_output") };
  }

  it("masks every secret first, writes $GITHUB_ENV and $GITHUB_OUTPUT in file-command format", () => {
    const env = files();
    writeFileSync(env.GITHUB_ENV, "EARLIER<<ghadelimiter_00000000-0000-4000-8000-000000000000\nx\nghadelimiter_00000000-0000-4000-8000-000000000000\n");
    const lease = stsLease({ region: "us-west-2", warnings: ["ttl clamped"] });
    const stdout = githubActions(lease, env);

    const lines = stdout.split("\n");
    expect(lines.slice(0, 3)).toEqual(["::add-mask::ASIAEXAMPLEKEY123456", "::add-mask::wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+=", `::add-mask::${TOKEN}`]);
    expect(lines.slice(3)).toEqual(["::warning::ttl clamped", `awslease: exported lease ${lease.leaseId} to $GITHUB_ENV and $GITHUB_OUTPUT`, ""]);
    // No secret outside the add-mask lines.
    const rest = lines.slice(3).join("\n");
    for (const secret of [lease.accessKey, lease.secretKey, TOKEN]) expect(rest).not.toContain(secret);

    // Appended, not overwritten.
    expect(parseFileCommands(readFileSync(env.GITHUB_ENV, "utf8"))).toEqual([
      ["EARLIER", "x"],
      ["AWS_ACCESS_KEY_ID", "ASIAEXAMPLEKEY123456"],
      ["AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+="],
      ["AWS_SESSION_TOKEN", TOKEN],
      ["AWS_CREDENTIAL_EXPIRATION", "2026-01-01T01:00:00Z"],
      ["AWS_REGION", "us-west-2"],
      ["AWS_DEFAULT_REGION", "us-west-2"],
      ["AWSLEASE_LEASE_ID", lease.leaseId],
    ]);
    expect(parseFileCommands(readFileSync(env.GITHUB_OUTPUT, "utf8"))).toEqual([
      ["lease-id", lease.leaseId],
      ["aws-access-key-id", "ASIAEXAMPLEKEY123456"],
      ["aws-secret-access-key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+="],
      ["aws-session-token", TOKEN],
      ["aws-expiration", "2026-01-01T01:00:00Z"],
    ]);
  });

  it("writes exactly NAME<<DELIM\\nvalue\\nDELIM\\n with a fresh delimiter per entry", () => {
    const writes: Array<[string, string]> = [];
    const fakeFs = { appendFileSync: (path: string, data: string) => void writes.push([path, data]) };
    let n = 0;
    const delimiter = () => `ghadelimiter_test-${++n}`;
    githubActions(iamLease(), { GITHUB_ENV: "/env", GITHUB_OUTPUT: "/out" }, fakeFs, delimiter);
    expect(writes).toEqual([
      [
        "/env",
        "AWS_ACCESS_KEY_ID<<ghadelimiter_test-1\nAKIAEXAMPLEKEY123456\nghadelimiter_test-1\n" +
          "AWS_SECRET_ACCESS_KEY<<ghadelimiter_test-2\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+=\nghadelimiter_test-2\n" +
          // iam_user: written empty to clear a token left by an earlier step.
          "AWS_SESSION_TOKEN<<ghadelimiter_test-3\n\nghadelimiter_test-3\n" +
          "AWS_CREDENTIAL_EXPIRATION<<ghadelimiter_test-4\n2026-01-01T01:00:00Z\nghadelimiter_test-4\n" +
          "AWSLEASE_LEASE_ID<<ghadelimiter_test-5\naws/creds/dev/3f1c2b7e-0000-4000-8000-000000000002\nghadelimiter_test-5\n",
      ],
      [
        "/out",
        "lease-id<<ghadelimiter_test-6\naws/creds/dev/3f1c2b7e-0000-4000-8000-000000000002\nghadelimiter_test-6\n" +
          "aws-access-key-id<<ghadelimiter_test-7\nAKIAEXAMPLEKEY123456\nghadelimiter_test-7\n" +
          "aws-secret-access-key<<ghadelimiter_test-8\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+=\nghadelimiter_test-8\n" +
          "aws-expiration<<ghadelimiter_test-9\n2026-01-01T01:00:00Z\nghadelimiter_test-9\n",
      ],
    ]);
  });

  it("iam_user: masks key id and secret only; empty AWS_SESSION_TOKEN parses back as empty", () => {
    const env = files();
    const stdout = githubActions(iamLease(), env);
    expect(stdout.split("\n").filter((l) => l.startsWith("::add-mask::"))).toEqual([
      "::add-mask::AKIAEXAMPLEKEY123456",
      "::add-mask::wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+=",
    ]);
    const envPairs = parseFileCommands(readFileSync(env.GITHUB_ENV, "utf8"));
    expect(envPairs).toContainEqual(["AWS_SESSION_TOKEN", ""]);
    const outputNames = parseFileCommands(readFileSync(env.GITHUB_OUTPUT, "utf8")).map(([name]) => name);
    expect(outputNames).toEqual(["lease-id", "aws-access-key-id", "aws-secret-access-key", "aws-expiration"]);
  });

  it("escapes %, CR and LF in add-mask data as @actions/core does", () => {
    const stdout = githubActions(iamLease({ secretKey: "a%b\nc" }), { GITHUB_ENV: join(dir, "e") });
    expect(stdout).toContain("::add-mask::a%25b%0Ac\n");
  });

  it("without $GITHUB_OUTPUT writes only $GITHUB_ENV and says so", () => {
    const writes: string[] = [];
    const stdout = githubActions(iamLease(), { GITHUB_ENV: "/env" }, { appendFileSync: (p: string) => void writes.push(p) });
    expect(writes).toEqual(["/env"]);
    expect(stdout.trimEnd().split("\n").pop()).toBe(`awslease: exported lease ${iamLease().leaseId} to $GITHUB_ENV`);
  });

  it("throws a one-line error when $GITHUB_ENV is missing, writing nothing", () => {
    const writes: string[] = [];
    const fakeFs = { appendFileSync: (p: string) => void writes.push(p) };
    expect(() => githubActions(stsLease(), { GITHUB_OUTPUT: "/out" }, fakeFs)).toThrow(
      new Error("--format github needs $GITHUB_ENV (run inside GitHub Actions)"),
    );
    expect(() => githubActions(stsLease(), { GITHUB_ENV: "" }, fakeFs)).toThrow(/needs \$GITHUB_ENV/);
    expect(writes).toEqual([]);
  });

  it("refuses a value containing the delimiter, naming the variable but not the secret, before writing anything", () => {
    const writes: string[] = [];
    const fakeFs = { appendFileSync: (p: string) => void writes.push(p) };
    const lease = stsLease({ sessionToken: "SECRETSTART-ghadelimiter_fixed-SECRETEND" });
    let message = "";
    try {
      githubActions(lease, { GITHUB_ENV: "/env", GITHUB_OUTPUT: "/out" }, fakeFs, () => "ghadelimiter_fixed");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe("--format github: value of AWS_SESSION_TOKEN contains the file-command delimiter");
    expect(message).not.toContain("SECRET");
    expect(writes).toEqual([]);
  });
});

function summary(overrides: Partial<LeaseSummary> = {}): LeaseSummary {
  return {
    leaseId: "aws/creds/deploy/3f1c2b7e-0000-4000-8000-000000000001",
    role: "deploy",
    credentialType: "assumed_role",
    mount: "aws",
    issuedAt: "2026-01-01T00:00:00Z",
    expiresAt: "2026-01-01T01:00:00Z",
    leaseDuration: 3600,
    renewable: false,
    arn: "arn:aws:sts::123456789012:assumed-role/deploy/s",
    expired: false,
    ...overrides,
  };
}

describe("formatLeaseList", () => {
  it("json: array of snake_case objects with the documented keys", () => {
    const parsed = JSON.parse(
      formatLeaseList(
        [
          summary(),
          summary({ leaseId: "aws/creds/dev/x", role: "dev", credentialType: "iam_user", username: "u1", renewable: true, expired: true, arn: undefined }),
        ],
        "json",
      ),
    );
    expect(parsed).toHaveLength(2);
    expect(Object.keys(parsed[0])).toEqual([
      "lease_id",
      "role",
      "credential_type",
      "mount",
      "issued_at",
      "expires_at",
      "lease_duration",
      "ttl",
      "renewable",
      "username",
      "arn",
      "expired",
      "status",
    ]);
    expect(parsed[0].status).toBe("active");
    expect(parsed[1]).toEqual({
      lease_id: "aws/creds/dev/x",
      role: "dev",
      credential_type: "iam_user",
      mount: "aws",
      issued_at: "2026-01-01T00:00:00Z",
      expires_at: "2026-01-01T01:00:00Z",
      lease_duration: 3600,
      ttl: 0,
      renewable: true,
      username: "u1",
      arn: null,
      expired: true,
      status: "expired",
    });
  });

  it("table: pending leases, and rows for stacks without a record (pending or unfinished)", () => {
    const text = formatLeaseList([summary({ pending: true })], "table", new Date("2026-01-01T00:30:00Z"), [
      { stackName: "lease-aws-abc", key: "abc", mount: "aws", lastUpdate: "2026-01-01T00:29:00Z", locked: true },
      { stackName: "lease-aws-def", key: "def", mount: "aws", lastUpdate: "2026-01-01T00:01:00Z" },
    ]);
    const rows = text.trim().split("\n");
    expect(rows).toHaveLength(4);
    expect(rows[1]).toMatch(/30m0s\s+false\s+pending$/);
    expect(rows[2]).toMatch(/^aws\/\?\/abc\s+-\s+-\s+2026-01-01T00:29:00Z .* pending$/);
    expect(rows[3]).toMatch(/^aws\/\?\/def .* unfinished$/);
    // JSON keeps to leases: every row has a lease id.
    expect(JSON.parse(formatLeaseList([], "json", new Date(), [{ stackName: "lease-aws-abc", key: "abc", mount: "aws" }]))).toEqual([]);
    expect(formatLeaseList([], "table", new Date(), [{ stackName: "lease-aws-abc", key: "abc", mount: "aws" }])).not.toBe("No leases.\n");
  });

  it("empty list: [] and No leases.", () => {
    expect(JSON.parse(formatLeaseList([], "json"))).toEqual([]);
    expect(formatLeaseList([], "table")).toBe("No leases.\n");
  });

  it("json: ttl is the whole seconds left at `now`", () => {
    const [row] = JSON.parse(formatLeaseList([summary()], "json", new Date("2026-01-01T00:15:30.700Z")));
    expect(row.ttl).toBe(44 * 60 + 29);
  });

  it("table: aligned columns with the time left and an expired marker", () => {
    const out = formatLeaseList(
      [
        summary(),
        summary({
          leaseId: "aws/creds/a-much-longer-role-name/id",
          role: "a-much-longer-role-name",
          credentialType: "iam_user",
          renewable: true,
          expired: true,
        }),
      ],
      "table",
      new Date("2026-01-01T00:15:30Z"),
    );
    const lines = out.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    const header = lines[0];
    expect(header.split(/\s{2,}/)).toEqual(["LEASE ID", "ROLE", "TYPE", "ISSUED", "EXPIRES", "TTL", "RENEWABLE", "STATUS"]);
    // Each column starts at the same offset in every line.
    for (const column of ["ROLE", "TYPE", "ISSUED", "EXPIRES", "TTL", "RENEWABLE", "STATUS"]) {
      const at = header.indexOf(column);
      for (const line of lines.slice(1)) {
        expect(line[at - 1]).toBe(" ");
        expect(line[at]).not.toBe(" ");
      }
    }
    expect(lines[1].split(/\s{2,}/).slice(-3)).toEqual(["44m30s", "false", "active"]);
    expect(lines[2].split(/\s{2,}/).slice(-3)).toEqual(["0s", "true", "expired"]);
    expect(lines.every((l) => l === l.trimEnd())).toBe(true);
  });
});

describe("formatLookup", () => {
  const now = new Date("2026-01-01T00:15:30Z");

  it("json: Vault's lookup keys with ttl as whole seconds remaining", () => {
    const parsed = JSON.parse(formatLookup(summary(), "json", now));
    expect(parsed).toMatchObject({
      id: "aws/creds/deploy/3f1c2b7e-0000-4000-8000-000000000001",
      issue_time: "2026-01-01T00:00:00Z",
      expire_time: "2026-01-01T01:00:00Z",
      ttl: 2670,
      renewable: false,
      role: "deploy",
      credential_type: "assumed_role",
    });
    expect(Object.keys(parsed).slice(0, 5)).toEqual(["id", "issue_time", "expire_time", "ttl", "renewable"]);
  });

  it("ttl is 0 for an expired lease, whether flagged or past its expiry", () => {
    expect(JSON.parse(formatLookup(summary({ expired: true }), "json", now)).ttl).toBe(0);
    expect(JSON.parse(formatLookup(summary(), "json", new Date("2026-01-02T00:00:00Z"))).ttl).toBe(0);
  });

  it("table: Key/Value rows, n/a for absent username", () => {
    const lines = formatLookup(summary(), "table", now).trimEnd().split("\n");
    expect(lines[0]).toMatch(/^Key\s+Value$/);
    expect(lines).toContain("ttl                2670");
    expect(lines).toContain("username           n/a");
    expect(lines).toContain("id                 aws/creds/deploy/3f1c2b7e-0000-4000-8000-000000000001");
  });
});

describe("formatKeyValues", () => {
  const role = {
    name: "deploy",
    credential_type: "assumed_role",
    role_arns: ["arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/b"],
    session_tags: { team: "infra", env: "prod" },
    policy_document: '{\n  "Version": "2012-10-17",\n  "Statement": []\n}',
    external_id: null,
    mfa_serial_number: "",
    iam_groups: [],
    default_sts_ttl: 3600,
    notes: "line one\nline two",
  };

  it("json: the object pretty-printed as given", () => {
    const out = formatKeyValues(role, "json");
    expect(JSON.parse(out)).toEqual(role);
    expect(out).toContain('\n  "name": "deploy",\n');
  });

  it("table: sorted keys, arrays joined, objects as k=v, empties as n/a, JSON compacted", () => {
    const out = formatKeyValues(role, "table");
    expect(out).toBe(
      [
        "Key                  Value",
        "---                  -----",
        "credential_type      assumed_role",
        "default_sts_ttl      3600",
        "external_id          n/a",
        "iam_groups           n/a",
        "mfa_serial_number    n/a",
        "name                 deploy",
        "notes                line one",
        "                     line two",
        'policy_document      {"Version":"2012-10-17","Statement":[]}',
        "role_arns            arn:aws:iam::123456789012:role/a,arn:aws:iam::123456789012:role/b",
        "session_tags         team=infra,env=prod",
        "",
      ].join("\n"),
    );
  });
});

describe("formatNameList", () => {
  it("table with header and rule; json array; empty list", () => {
    expect(formatNameList(["deploy", "dev"], "table", "Roles")).toBe("Roles\n-----\ndeploy\ndev\n");
    expect(JSON.parse(formatNameList(["deploy", "dev"], "json", "Roles"))).toEqual(["deploy", "dev"]);
    expect(formatNameList([], "table", "Roles")).toBe("No roles.\n");
    expect(JSON.parse(formatNameList([], "json", "Roles"))).toEqual([]);
  });

  it("rejects an unknown format", () => {
    expect(() => formatNameList([], "xml" as never, "Roles")).toThrow(/unknown output format/);
  });
});

describe("env for fish and PowerShell (--shell)", () => {
  it("fish: sourced by the real fish, every variable comes back exactly, a stale session token is erased", () => {
    const file = join(dir, "lease.fish");
    writeFileSync(file, formatIssued(iamLease({ secretKey: NASTY_SECRET, region: "eu-west-1" }), "env", { shell: "fish" }));
    const out = execFileSync(
      "fish",
      [
        "--no-config",
        "-c",
        'set -gx AWS_SESSION_TOKEN stale; source $argv[1]; printf "%s\\n" $AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY $AWS_REGION; set -q AWS_SESSION_TOKEN; and echo token-set; or echo token-unset',
        file,
      ],
      { encoding: "utf8" },
    );
    expect(out.split("\n").slice(0, 4)).toEqual(["AKIAEXAMPLEKEY123456", NASTY_SECRET, "eu-west-1", "token-unset"]);
  });

  it("PowerShell: single-quoted literals with ' doubled, and the stale token removed", () => {
    const text = formatIssued(iamLease({ secretKey: "a'b$c`d" }), "env", { shell: "powershell" });
    expect(text).toContain("$Env:AWS_SECRET_ACCESS_KEY = 'a''b$c`d'\n");
    expect(text).toContain("Remove-Item Env:AWS_SESSION_TOKEN -ErrorAction SilentlyContinue\n");
    expect(formatIssued(stsLease(), "env", { shell: "powershell" })).toContain(`$Env:AWS_SESSION_TOKEN = '${TOKEN}'`);
  });

  it("static-creds use the same formats (Vault's JSON has no lease)", () => {
    const creds = { accessKey: "AKIASTATIC", secretKey: NASTY_SECRET, expiration: "2026-12-03T00:00:00Z" };
    expect(JSON.parse(formatStaticCreds(creds, "json"))).toEqual({
      lease_id: "",
      lease_duration: 0,
      renewable: false,
      data: { access_key: "AKIASTATIC", secret_key: NASTY_SECRET, expiration: creds.expiration },
      warnings: null,
    });
    expect(formatStaticCreds(creds, "env", { shell: "fish" })).toContain("set -gx AWS_ACCESS_KEY_ID 'AKIASTATIC'");
    expect(staticCredsBody(creds)).toMatchObject({ data: { access_key: "AKIASTATIC" } });
  });
});

describe("--field (Vault's -field=)", () => {
  it("prints a top-level or data value raw, anything not a string as JSON", () => {
    const body = vaultSecretBody(stsLease());
    expect(formatField(body, "access_key")).toBe("ASIAEXAMPLEKEY123456\n");
    expect(formatField(body, "lease_duration")).toBe("3600\n");
    expect(formatField(body, "renewable")).toBe("false\n");
    expect(formatField(body, "security_token")).toBe(`${TOKEN}\n`);
  });

  it("an unknown field is one validation error naming the fields there are", () => {
    expect(() => formatField(vaultSecretBody(iamLease()), "nope")).toThrow(/--field: no field "nope" here \(fields: access_key, .*lease_id.*secret_key/);
    expect(() => formatField({ a: 1 }, "data")).toThrow(/no field "data"/);
  });
});

describe("--format yaml, wherever json is", () => {
  const YAML = require("yaml") as typeof import("yaml");
  it("issue, static-creds, lookup, key/values and name lists: YAML of exactly the JSON answer", () => {
    const lease = stsLease({ secretKey: NASTY_SECRET });
    expect(YAML.parse(formatIssued(lease, "yaml"))).toEqual(JSON.parse(formatIssued(lease, "json")));
    const creds = { accessKey: "AKIASTATIC", secretKey: NASTY_SECRET, expiration: "2026-12-03T00:00:00Z" };
    expect(YAML.parse(formatStaticCreds(creds, "yaml"))).toEqual(JSON.parse(formatStaticCreds(creds, "json")));
    expect(YAML.parse(formatKeyValues({ a: "1", b: 2, c: null, d: ["x"] }, "yaml"))).toEqual({ a: "1", b: 2, c: null, d: ["x"] });
    expect(YAML.parse(formatNameList(["r1", "true"], "yaml", "Keys"))).toEqual(["r1", "true"]);
  });

  it("strings YAML 1.1 or 1.2 would read as another type stay strings, for both parsers", () => {
    const value = { yes: "yes", on: "on", num: "0123", nul: "null", date: "2026-12-03", n: 5, b: true };
    const text = formatKeyValues(value, "yaml");
    expect(YAML.parse(text, { version: "1.1" })).toEqual(value);
    expect(YAML.parse(text, { version: "1.2" })).toEqual(value);
  });
});
