// The web UI (/ui) in a real headless Chromium (Debian's `chromium`, installed by setup,
// driven by playwright-core), against `awslease server`, the real engine and moto:
// sign in, enable a mount, configure it, create roles, generate credentials that work,
// renew and revoke a lease, and a scoped token that sees only its role. A screenshot of
// each page goes to test/artifacts/ (gitignored).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ListUsersCommand, CreateUserCommand } from "@aws-sdk/client-iam";
import { chromium, type Browser, type Page } from "playwright-core";
import { clients, createAssumableRole, moto, uniq, errorName } from "../support/aws";
import { allowPolicy, cliRunner, repoRoot, startServer, userExists, type Runner } from "../support/cli";

const mount = uniq("ui");
const rootToken = `ui-root-${uniq("t")}-0123456789`;
const artifacts = join(repoRoot, "test", "artifacts");
let runner: Runner;
let server: ReturnType<Runner["start"]>;
let addr = "";
let browser: Browser;
let page: Page;
let issuedKey = "";
let issuedUser = "";

function chromiumPath(): string {
  // Setup installs Debian's chromium; a missing browser fails the run (it is never skipped).
  return execFileSync("sh", ["-c", "command -v chromium || command -v chromium-browser"], { encoding: "utf8" }).trim();
}

async function shot(name: string) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** Goes to a page of the UI and waits until it is drawn (its heading), so no action hits the page before. */
async function go(p: Page, hash: string, heading: string) {
  await p.goto(`${addr}/ui/#${hash}`);
  await p.getByRole("heading", { name: heading, exact: true }).waitFor({ timeout: 30_000 });
}

async function signIn(p: Page, token: string) {
  await p.goto(`${addr}/ui/`);
  await p.getByLabel("Token", { exact: true }).fill(token);
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.getByRole("heading", { name: "Mounts" }).waitFor();
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  runner = cliRunner({ env: { AWSLEASE_ROOT_TOKEN: rootToken } });
  ({ start: server, addr } = await startServer(runner));
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  // Confirmations are accepted; the renew prompt answers 2h.
  page.on("dialog", (d) => void d.accept(d.type() === "prompt" ? "2h" : undefined));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (server && server.child.exitCode === null) {
    server.child.kill("SIGTERM");
    await server.result.catch(() => undefined);
  }
  runner?.cleanup();
});

describe("the web UI in headless Chromium", () => {
  it("serves /ui with a strict Content-Security-Policy and signs in with a token", async () => {
    const res = await fetch(`${addr}/ui/`);
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'; script-src 'self'/);
    await page.goto(`${addr}/ui/`);
    await page.getByLabel("Token", { exact: true }).fill("not-a-token-at-all");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("That token is not valid");
    await shot("1-sign-in");
    await signIn(page, rootToken);
    await expect.poll(() => page.locator("#who").textContent()).toContain("root");
  });

  it("enables a mount and configures its root credentials (the secret is never shown back)", async () => {
    const m = moto();
    await page.getByLabel("Path", { exact: true }).fill(mount);
    await page.getByRole("button", { name: "Enable AWS engine" }).click();
    await page.getByRole("cell", { name: `${mount}/` }).waitFor();
    await shot("2-mounts");
    await go(page, `/m/${mount}/config`, `Configuration of ${mount}/`);
    await page.getByLabel("access_key", { exact: true }).fill(m.accessKey);
    await page.getByLabel("secret_key", { exact: true }).fill(m.secretKey);
    await page.getByLabel("region", { exact: true }).fill(m.region);
    await page.getByLabel("iam_endpoint", { exact: true }).fill(m.endpoint);
    await page.getByLabel("sts_endpoint", { exact: true }).fill(m.endpoint);
    await page.getByLabel("lease", { exact: true }).fill("1h");
    await page.getByRole("button", { name: "Save configuration" }).click();
    await expect.poll(() => page.getByRole("alert").textContent(), { timeout: 60_000 }).toContain("Configuration saved");
    expect(await page.getByLabel("access_key", { exact: true }).inputValue()).toBe(m.accessKey);
    await expect.poll(() => page.getByLabel("secret_key", { exact: true }).inputValue()).toBe("");
    expect(await page.content()).not.toContain(m.secretKey);
    await shot("3-config");
  });

  it("creates an iam_user and an assumed_role role; the form shows only each type's fields, and a bad field is named beside it", async () => {
    await go(page, `/m/${mount}/roles/deploy?new`, "New role deploy");
    await page.getByLabel("credential_type", { exact: true }).selectOption("iam_user");
    expect(await page.getByLabel("role_arns", { exact: true }).isVisible()).toBe(false);
    await page.getByLabel("policy_document", { exact: true }).fill("{ not json");
    await expect.poll(() => page.locator("#err-policy_document").textContent()).toMatch(/Not JSON yet/);
    await page.getByLabel("policy_document", { exact: true }).fill(allowPolicy(["iam:ListUsers"]));
    await page.getByLabel("user_path", { exact: true }).fill("no-slashes");
    await page.getByRole("button", { name: "Create role" }).click();
    await expect.poll(() => page.locator("#err-user_path").textContent(), { timeout: 30_000 }).not.toBe("");
    await page.getByLabel("user_path", { exact: true }).fill("/");
    await page.getByRole("button", { name: "Create role" }).click();
    await page.getByRole("heading", { name: "Role deploy", exact: true }).waitFor({ timeout: 60_000 });
    await shot("4-role");

    const roleArn = await createAssumableRole(["iam:ListUsers"]);
    await go(page, `/m/${mount}/roles/assume?new`, "New role assume");
    await page.getByLabel("credential_type", { exact: true }).selectOption("assumed_role");
    expect(await page.getByLabel("role_arns", { exact: true }).isVisible()).toBe(true);
    expect(await page.getByLabel("user_path", { exact: true }).isVisible()).toBe(false);
    await page.getByLabel("role_arns", { exact: true }).fill(roleArn);
    await page.getByRole("button", { name: "Create role" }).click();
    await expect
      .poll(async () => `${await page.getByRole("heading").first().textContent()} | ${await page.locator("#message").textContent()}`, { timeout: 60_000 })
      .toMatch(/^Role assume \|/);
    await go(page, `/m/${mount}/roles`, `Roles of ${mount}/`);
    await page.getByRole("link", { name: "assume" }).waitFor();
    expect(await page.getByRole("link", { name: "deploy" }).count()).toBe(1);
  });

  it("generates credentials shown once with snippets, and the key works for the allowed action only", async () => {
    await go(page, `/m/${mount}/roles/deploy`, "Role deploy");
    await page.getByLabel("TTL", { exact: true }).fill("1h");
    await page.getByRole("button", { name: "Generate credentials" }).click();
    await page.locator("#new-access-key").waitFor({ timeout: 60_000 });
    issuedKey = (await page.locator("#new-access-key").textContent())!;
    const secret = (await page.locator("#new-secret-key").textContent())!;
    expect(await page.getByText("credential_process = awslease credential-process deploy").count()).toBe(1);
    expect(await page.getByText(`export AWS_ACCESS_KEY_ID=${issuedKey}`).count()).toBe(1);
    // No session token for iam_user: nothing (not even "null") stands in its place.
    expect(await page.getByText("null", { exact: true }).count()).toBe(0);
    await shot("5-credentials");
    const iam = clients(issuedKey, secret).iam;
    expect(await errorName(iam.send(new ListUsersCommand({})))).toBe("no error");
    expect(await errorName(iam.send(new CreateUserCommand({ UserName: uniq("nope") })))).toBe("AccessDenied");
    const leaseId = (await page.locator("#new-lease-id").textContent())!;
    issuedUser = leaseId; // resolved to the IAM user below
  });

  it("lists the lease with a counting-down TTL, renews it to a later expiry, then revokes it and its IAM user", async () => {
    const leaseId = issuedUser;
    await go(page, `/m/${mount}/leases`, `Leases of ${mount}/`);
    const row = page.locator(`tr[data-lease="${leaseId}"]`);
    await row.waitFor({ timeout: 30_000 });
    const ttl1 = await row.locator(".ttl").textContent();
    await expect.poll(() => row.locator(".ttl").textContent(), { timeout: 5000 }).not.toBe(ttl1);
    expect(await row.getByText("active").count()).toBe(1);
    const expiresBefore = await row.locator("td").nth(4).textContent();
    await shot("6-leases");
    await row.getByRole("button", { name: `Renew ${leaseId}` }).click();
    await expect.poll(() => page.locator(`tr[data-lease="${leaseId}"] td`).nth(4).textContent(), { timeout: 60_000 }).not.toBe(expiresBefore);
    const user = (await clients().iam.send(new ListUsersCommand({}))).Users!.find((u) => u.UserName!.includes("-deploy-"))?.UserName;
    expect(user && (await userExists(user))).toBe(true);
    await page
      .locator(`tr[data-lease="${leaseId}"]`)
      .getByRole("button", { name: `Revoke ${leaseId}` })
      .click();
    await expect.poll(() => page.locator(`tr[data-lease="${leaseId}"]`).count(), { timeout: 60_000 }).toBe(0);
    expect(await userExists(user!)).toBe(false);
  });

  it("a token that may use one role sees no others, and a 403 is a clear message", async () => {
    const policy = { path: { [`${mount}/roles/deploy`]: { capabilities: ["read"] }, [`${mount}/creds/deploy`]: { capabilities: ["update"] } } };
    const put = await fetch(`${addr}/v1/sys/policies/acl/ui-deploy`, {
      method: "PUT",
      headers: { "X-Vault-Token": rootToken },
      body: JSON.stringify({ policy: JSON.stringify(policy) }),
    });
    expect(put.status).toBe(204);
    const created = (await (
      await fetch(`${addr}/v1/auth/token/create`, {
        method: "POST",
        headers: { "X-Vault-Token": rootToken },
        body: JSON.stringify({ policies: ["ui-deploy"], display_name: "ui" }),
      })
    ).json()) as { auth: { client_token: string } };
    const scoped = await browser.newPage();
    scoped.on("dialog", (d) => void d.accept());
    await signIn(scoped, created.auth.client_token);
    expect(await scoped.getByText("No AWS mounts you can see.").count()).toBe(1);
    expect(await scoped.getByRole("button", { name: "Enable AWS engine" }).count()).toBe(0);
    await go(scoped, `/m/${mount}/roles`, `Roles of ${mount}/`);
    await scoped.getByText("No roles you can see.").waitFor();
    expect(await scoped.getByRole("link", { name: "assume" }).count()).toBe(0);
    await scoped.goto(`${addr}/ui/#/m/${mount}/roles/assume`);
    await expect.poll(() => scoped.getByRole("alert").textContent()).toContain("Your token may not do this (permission denied).");
    await go(scoped, `/m/${mount}/roles/deploy`, "Role deploy");
    await scoped.getByRole("button", { name: "Generate credentials" }).waitFor();
    // It may read the role and issue, not change or delete it: those controls are not shown.
    expect(await scoped.getByRole("button", { name: "Save role" }).count()).toBe(0);
    expect(await scoped.getByRole("button", { name: "Delete role" }).count()).toBe(0);
    await scoped.getByRole("button", { name: "Generate credentials" }).click();
    await scoped.locator("#new-access-key").waitFor({ timeout: 60_000 });
    await scoped.screenshot({ path: join(artifacts, "7-scoped-token.png"), fullPage: true });
    await scoped.close();
  });

  it("works at a phone's width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await go(page, `/m/${mount}/roles/deploy`, "Role deploy");
    await page.getByRole("button", { name: "Generate credentials" }).waitFor();
    const overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    await shot("8-phone");
  });
});
