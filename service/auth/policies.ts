// ACL policies (Vault's sys/policies/acl): stored as written in the backend under
// `.awslease/auth/policies/`, so every server on the backend enforces the same ones.
// `root` is built in and cannot change; `default` is built in until overwritten.
import { ValidationError } from "../../provider/errors";
import type { ServiceContext } from "../context";
import { Acl, DEFAULT_POLICY, DEFAULT_POLICY_NAME, ROOT_POLICY, ROOT_POLICY_NAME, parsePolicy, type Policy } from "./acl";

const POLICY_NAME = /^[a-zA-Z0-9_.@+=-]{1,128}$/;

function checkName(name: string): string {
  const lower = name.toLowerCase();
  if (!POLICY_NAME.test(lower)) throw new ValidationError([{ field: "name", reason: `"${name}" is not a policy name (letters, digits and _.@+=-)` }]);
  return lower;
}

function policyFiles(ctx: ServiceContext) {
  return ctx.store.files("auth", "policies");
}

/** The policy's text as written, or undefined. */
export async function readPolicy(ctx: ServiceContext, name: string): Promise<string | undefined> {
  const key = checkName(name);
  if (key === ROOT_POLICY_NAME) return "";
  const { store, dir } = await policyFiles(ctx);
  const got = await store.read(`${dir}/${key}.json`);
  if (got) return (JSON.parse(got.content.toString("utf8")) as { policy: string }).policy;
  return key === DEFAULT_POLICY_NAME ? DEFAULT_POLICY.raw : undefined;
}

/** Writes a policy; it is parsed first, so a bad one is refused with the reason. */
export async function writePolicy(ctx: ServiceContext, name: string, text: string): Promise<void> {
  const key = checkName(name);
  if (key === ROOT_POLICY_NAME) throw new ValidationError([{ field: "name", reason: 'cannot update the "root" policy' }]);
  if (typeof text !== "string" || text.trim() === "") throw new ValidationError([{ field: "policy", reason: "is required" }]);
  parsePolicy(key, text);
  const { store, dir } = await policyFiles(ctx);
  await store.put(`${dir}/${key}.json`, `${JSON.stringify({ name: key, policy: text })}\n`);
}

export async function deletePolicy(ctx: ServiceContext, name: string): Promise<void> {
  const key = checkName(name);
  if (key === ROOT_POLICY_NAME || key === DEFAULT_POLICY_NAME) throw new ValidationError([{ field: "name", reason: `cannot delete the "${key}" policy` }]);
  const { store, dir } = await policyFiles(ctx);
  await store.remove(`${dir}/${key}.json`);
}

/** Every policy name, the built-ins included, sorted. */
export async function listPolicies(ctx: ServiceContext): Promise<string[]> {
  const { store, dir } = await policyFiles(ctx);
  const stored = (await store.list(dir)).filter((f) => f.name.endsWith(".json")).map((f) => f.name.slice(0, -".json".length));
  return [...new Set([DEFAULT_POLICY_NAME, ROOT_POLICY_NAME, ...stored])].sort();
}

/** The ACL of a token's policies. A policy named but not (or no longer) defined grants nothing, as in Vault. */
export async function aclOf(ctx: ServiceContext, names: string[]): Promise<Acl> {
  const policies: Policy[] = [];
  for (const name of names) {
    if (name === ROOT_POLICY_NAME) policies.push(ROOT_POLICY);
    else {
      const text = await readPolicy(ctx, name).catch(() => undefined);
      if (text !== undefined) policies.push(name === DEFAULT_POLICY_NAME && text === DEFAULT_POLICY.raw ? DEFAULT_POLICY : parsePolicy(name, text));
    }
  }
  return new Acl(policies);
}
