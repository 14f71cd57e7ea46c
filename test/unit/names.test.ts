// One mount-name rule and one parser per name: lease ids and lease stack names.
import { describe, expect, it } from "vitest";
import { leaseStackName, leaseKeyOf, mountNameProblem, parseLeaseId, parseLeaseStackName, randomLeaseKey } from "../../provider/names";
import { validateEngineConfig } from "../../provider/validation";
import { serviceContext } from "../../service/context";

describe("mount names", () => {
  it("one rule: letters, digits, _ and -, 1-64 characters", () => {
    for (const ok of ["aws", "a", "aws-prod", "a_b-C9", "x".repeat(64)]) expect(mountNameProblem(ok), ok).toBeUndefined();
    for (const bad of ["", "a/b", "a b", "a.b", "rôle", "x".repeat(65), "..", undefined, 7]) expect(mountNameProblem(bad), String(bad)).toBeDefined();
  });

  it("the CLI's --mount and the engine's mount setting apply that same rule", () => {
    for (const name of ["a.b", "x".repeat(65)]) {
      expect(() => serviceContext({ mount: name }, {})).toThrow(/is not a mount name/);
      expect(() => validateEngineConfig({ mount: name }, { mount: "aws", env: {} })).toThrow(/is not a mount name/);
    }
    expect(serviceContext({ mount: "x".repeat(64) }, {}).mount).toHaveLength(64);
  });
});

describe("lease stack names", () => {
  it("parse back exactly: mount a never matches the leases of mount a-b", () => {
    const id = randomLeaseKey();
    expect(parseLeaseStackName(leaseStackName("a", id))).toEqual({ mount: "a", key: id });
    expect(parseLeaseStackName(leaseStackName("a-b", id))).toEqual({ mount: "a-b", key: id });
    expect(parseLeaseStackName(leaseStackName("a-b", id))?.mount).not.toBe("a");
  });

  it("other stacks are not lease stacks", () => {
    for (const name of ["mount-aws", "lease-", "lease-aws", "lease--ABC", "lease-a/b-ABC", "prod-lease-aws-ABC"]) {
      expect(parseLeaseStackName(name), name).toBeUndefined();
    }
  });
});

describe("lease ids", () => {
  it("parse into mount, kind, role and key", () => {
    expect(parseLeaseId("aws-prod/creds/deploy/ABC123")).toEqual({ mount: "aws-prod", kind: "creds", role: "deploy", key: "ABC123" });
    expect(parseLeaseId("aws/sts/ci.bot/XYZ")).toEqual({ mount: "aws", kind: "sts", role: "ci.bot", key: "XYZ" });
  });

  it("refuse anything else, naming the expected shape", () => {
    for (const bad of ["aws/creds/deploy", "aws/keys/deploy/ABC", "a b/creds/r/ABC", "aws/creds/r/AB-C", "aws/creds/a/b/ABC"]) {
      expect(() => parseLeaseId(bad), bad).toThrow(/malformed lease id .* \(want <mount>\/creds\|sts\/<role>\/<id>\)/);
    }
  });
});

describe("lease keys", () => {
  it("leaseKeyOf: the id's last part, or undefined for what is not a lease id", () => {
    const id = randomLeaseKey();
    expect(leaseKeyOf(`aws/creds/ci/${id}`)).toBe(id);
    expect(leaseKeyOf(`a-b/sts/deploy/${id}`)).toBe(id);
    for (const bad of [undefined, "", id, "aws/creds/ci/", "aws/other/ci/x", "a/b/aws/creds/ci/x"]) expect(leaseKeyOf(bad), String(bad)).toBeUndefined();
  });
});
