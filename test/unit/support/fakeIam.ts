// An in-memory IAM behind aws-sdk-client-mock that behaves as real IAM does where
// moto does not: every List call pages (page size 1 by default, so any code that
// ignores Marker/IsTruncated misses items), and DeleteUser answers DeleteConflict while
// ANYTHING is still attached (moto only checks policies).
import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeactivateMFADeviceCommand,
  DeleteAccessKeyCommand,
  DeleteConflictException,
  DeleteLoginProfileCommand,
  DeleteServiceSpecificCredentialCommand,
  DeleteSigningCertificateCommand,
  DeleteSSHPublicKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DeleteRolePolicyCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  LimitExceededException,
  PutRolePolicyCommand,
  DetachUserPolicyCommand,
  EntityAlreadyExistsException,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  ListServiceSpecificCredentialsCommand,
  ListSigningCertificatesCommand,
  ListSSHPublicKeysCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  NoSuchEntityException,
  PutUserPolicyCommand,
  RemoveUserFromGroupCommand,
  TagUserCommand,
  type Tag,
} from "@aws-sdk/client-iam";
import { mockClient } from "aws-sdk-client-mock";

export interface FakeUser {
  name: string;
  path: string;
  permissionsBoundary?: string;
  tags: Tag[];
  keys: string[];
  managed: string[];
  inline: Map<string, string>;
  groups: string[];
  loginProfile: boolean;
  mfa: string[];
  certs: string[];
  ssh: string[];
  serviceCredentials: string[];
}

export const ACCOUNT = "123456789012";

const noSuchEntity = (message: string) => new NoSuchEntityException({ message, $metadata: { httpStatusCode: 404 } });

export type IamCommandName = string;

function describeMutation(name: string, i: any): string {
  const target =
    i.AccessKeyId ?? i.PolicyArn ?? i.PolicyName ?? i.GroupName ?? i.SerialNumber ?? i.CertificateId ?? i.SSHPublicKeyId ?? i.ServiceSpecificCredentialId;
  return target === undefined || name === "DeleteUser" || name === "DeleteLoginProfile" ? name : `${name} ${target}`;
}

export class FakeIam {
  readonly mock = mockClient(IAMClient);
  readonly users = new Map<string, FakeUser>();
  readonly groups = new Set<string>(["devs", "ops"]);
  readonly policies = new Set<string>([`arn:aws:iam::aws:policy/ReadOnlyAccess`, `arn:aws:iam::${ACCOUNT}:policy/deploy`]);
  /** Command name -> error it throws (every time) instead of acting. */
  readonly failing = new Map<IamCommandName, Error>();
  /** Command name -> handler that replaces the fake's behaviour (e.g. to emulate moto). */
  readonly overrides = new Map<IamCommandName, (input: any) => unknown>();
  /** Role name -> its inline policies (name -> document); a role not here does not exist. */
  readonly roles = new Map<string, Map<string, string>>();
  /** IAM's quota on a principal's inline policies, in characters without whitespace (role 10,240, user 2,048). */
  inlineQuota = { role: 10_240, user: 2_048 };
  pageSize = 1;
  /** Mutations that took effect, e.g. "DetachUserPolicy <arn>" or "DeleteUser" (failed calls are not listed). */
  readonly applied: string[] = [];
  private keyCounter = 0;

  constructor() {
    this.install();
  }

  user(name: string): FakeUser {
    const u = this.users.get(name);
    if (!u) throw noSuchEntity(`The user with name ${name} cannot be found.`);
    return u;
  }

  /** A bare user, as if created out of band. */
  addUser(name: string, extra: Partial<FakeUser> = {}): FakeUser {
    const u: FakeUser = {
      name,
      path: "/",
      tags: [],
      keys: [],
      managed: [],
      inline: new Map(),
      groups: [],
      loginProfile: false,
      mfa: [],
      certs: [],
      ssh: [],
      serviceCredentials: [],
      ...extra,
    };
    this.users.set(name, u);
    return u;
  }

  /** Names of the commands sent, in order (e.g. "CreateUser"). */
  commandNames(): string[] {
    return this.mock.calls().map((c) => (c.args[0] as object).constructor.name.replace(/Command$/, ""));
  }

  /** Inputs of every call of one command, in order. */
  inputsOf(name: string): any[] {
    return this.mock
      .calls()
      .filter((c) => (c.args[0] as object).constructor.name === `${name}Command`)
      .map((c) => (c.args[0] as { input: unknown }).input);
  }

  private role(name: string): Map<string, string> {
    const inline = this.roles.get(name);
    if (!inline) throw noSuchEntity(`The role with name ${name} cannot be found.`);
    return inline;
  }

  /** IAM counts a principal's inline policies together, whitespace not counted. */
  private checkQuota(inline: Map<string, string>, name: string, doc: string, quota: number, who: string): void {
    const size = (d: string) => d.replace(/\s/g, "").length;
    const total = [...inline].filter(([n]) => n !== name).reduce((sum, [, d]) => sum + size(d), 0) + size(doc);
    if (total > quota)
      throw new LimitExceededException({ message: `Maximum policy size of ${quota} bytes exceeded for ${who}`, $metadata: { httpStatusCode: 409 } });
  }

  private page<T>(items: T[], marker: string | undefined) {
    const start = marker ? Number(marker) : 0;
    const end = start + this.pageSize;
    const truncated = end < items.length;
    return { items: items.slice(start, end), IsTruncated: truncated, ...(truncated ? { Marker: String(end) } : {}) };
  }

  private handle(name: IamCommandName, command: any, fn: (input: any) => unknown) {
    this.mock.on(command).callsFake(async (input: any) => {
      const failure = this.failing.get(name);
      if (failure) throw failure;
      const override = this.overrides.get(name);
      const result = override ? override(input) : fn(input);
      this.applied.push(describeMutation(name, input));
      return result;
    });
  }

  private install() {
    this.handle("CreateUser", CreateUserCommand, (i) => {
      if (this.users.has(i.UserName)) {
        throw new EntityAlreadyExistsException({ message: `User ${i.UserName} already exists`, $metadata: {} });
      }
      this.addUser(i.UserName, { path: i.Path ?? "/", permissionsBoundary: i.PermissionsBoundary, tags: i.Tags ?? [] });
      return {
        User: {
          UserName: i.UserName,
          Path: i.Path ?? "/",
          UserId: "AIDAFAKE",
          Arn: `arn:aws:iam::${ACCOUNT}:user${i.Path ?? "/"}${i.UserName}`,
          CreateDate: new Date(),
        },
      };
    });
    this.handle("AttachUserPolicy", AttachUserPolicyCommand, (i) => {
      const u = this.user(i.UserName);
      if (!this.policies.has(i.PolicyArn)) throw noSuchEntity(`Policy ${i.PolicyArn} does not exist or is not attachable.`);
      if (!u.managed.includes(i.PolicyArn)) u.managed.push(i.PolicyArn);
      return {};
    });
    this.handle("PutUserPolicy", PutUserPolicyCommand, (i) => {
      const u = this.user(i.UserName);
      this.checkQuota(u.inline, i.PolicyName, i.PolicyDocument, this.inlineQuota.user, `user ${i.UserName}`);
      u.inline.set(i.PolicyName, i.PolicyDocument);
      return {};
    });
    this.handle("GetUserPolicy", GetUserPolicyCommand, (i) => {
      const doc = this.user(i.UserName).inline.get(i.PolicyName);
      if (doc === undefined) throw noSuchEntity(`The user policy with name ${i.PolicyName} cannot be found.`);
      // IAM answers with the document URL-encoded.
      return { UserName: i.UserName, PolicyName: i.PolicyName, PolicyDocument: encodeURIComponent(doc) };
    });
    this.handle("PutRolePolicy", PutRolePolicyCommand, (i) => {
      const inline = this.role(i.RoleName);
      this.checkQuota(inline, i.PolicyName, i.PolicyDocument, this.inlineQuota.role, `role ${i.RoleName}`);
      inline.set(i.PolicyName, i.PolicyDocument);
      return {};
    });
    this.handle("GetRolePolicy", GetRolePolicyCommand, (i) => {
      const doc = this.role(i.RoleName).get(i.PolicyName);
      if (doc === undefined) throw noSuchEntity(`The role policy with name ${i.PolicyName} cannot be found.`);
      return { RoleName: i.RoleName, PolicyName: i.PolicyName, PolicyDocument: encodeURIComponent(doc) };
    });
    this.handle("DeleteRolePolicy", DeleteRolePolicyCommand, (i) => {
      if (!this.role(i.RoleName).delete(i.PolicyName)) throw noSuchEntity(`The role policy with name ${i.PolicyName} cannot be found.`);
      return {};
    });
    this.handle("AddUserToGroup", AddUserToGroupCommand, (i) => {
      const u = this.user(i.UserName);
      if (!this.groups.has(i.GroupName)) throw noSuchEntity(`The group with name ${i.GroupName} cannot be found.`);
      if (!u.groups.includes(i.GroupName)) u.groups.push(i.GroupName);
      return {};
    });
    this.handle("CreateAccessKey", CreateAccessKeyCommand, (i) => {
      const u = this.user(i.UserName);
      const id = `AKIAFAKE${String(++this.keyCounter).padStart(8, "0")}`;
      u.keys.push(id);
      return {
        AccessKey: { UserName: u.name, AccessKeyId: id, SecretAccessKey: `secret-of-${id}`, Status: "Active", CreateDate: new Date() },
      };
    });
    this.handle("TagUser", TagUserCommand, (i) => {
      const u = this.user(i.UserName);
      for (const t of i.Tags as Tag[]) {
        u.tags = [...u.tags.filter((x) => x.Key !== t.Key), t];
      }
      return {};
    });

    this.handle("ListAccessKeys", ListAccessKeysCommand, (i) => {
      const p = this.page(this.user(i.UserName).keys, i.Marker);
      return {
        AccessKeyMetadata: p.items.map((AccessKeyId) => ({ AccessKeyId, UserName: i.UserName, Status: "Active" })),
        IsTruncated: p.IsTruncated,
        Marker: p.Marker,
      };
    });
    this.handle("DeleteAccessKey", DeleteAccessKeyCommand, (i) => {
      const u = this.user(i.UserName);
      if (!u.keys.includes(i.AccessKeyId)) throw noSuchEntity(`The Access Key with id ${i.AccessKeyId} cannot be found`);
      u.keys = u.keys.filter((k) => k !== i.AccessKeyId);
      return {};
    });
    this.handle("DeleteLoginProfile", DeleteLoginProfileCommand, (i) => {
      const u = this.user(i.UserName);
      if (!u.loginProfile) throw noSuchEntity(`Login Profile for User ${i.UserName} cannot be found.`);
      u.loginProfile = false;
      return {};
    });
    this.handle("ListMFADevices", ListMFADevicesCommand, (i) => {
      const p = this.page(this.user(i.UserName).mfa, i.Marker);
      return {
        MFADevices: p.items.map((SerialNumber) => ({ SerialNumber, UserName: i.UserName, EnableDate: new Date() })),
        IsTruncated: p.IsTruncated,
        Marker: p.Marker,
      };
    });
    this.handle("DeactivateMFADevice", DeactivateMFADeviceCommand, (i) => {
      const u = this.user(i.UserName);
      if (!u.mfa.includes(i.SerialNumber)) throw noSuchEntity(`MFA device ${i.SerialNumber} is not associated`);
      u.mfa = u.mfa.filter((s) => s !== i.SerialNumber);
      return {};
    });
    this.handle("ListSigningCertificates", ListSigningCertificatesCommand, (i) => {
      const p = this.page(this.user(i.UserName).certs, i.Marker);
      return {
        Certificates: p.items.map((CertificateId) => ({ CertificateId, UserName: i.UserName, CertificateBody: "x", Status: "Active" })),
        IsTruncated: p.IsTruncated,
        Marker: p.Marker,
      };
    });
    this.handle("DeleteSigningCertificate", DeleteSigningCertificateCommand, (i) => {
      const u = this.user(i.UserName);
      u.certs = u.certs.filter((c) => c !== i.CertificateId);
      return {};
    });
    this.handle("ListSSHPublicKeys", ListSSHPublicKeysCommand, (i) => {
      const p = this.page(this.user(i.UserName).ssh, i.Marker);
      return {
        SSHPublicKeys: p.items.map((SSHPublicKeyId) => ({ SSHPublicKeyId, UserName: i.UserName, Status: "Active", UploadDate: new Date() })),
        IsTruncated: p.IsTruncated,
        Marker: p.Marker,
      };
    });
    this.handle("DeleteSSHPublicKey", DeleteSSHPublicKeyCommand, (i) => {
      const u = this.user(i.UserName);
      u.ssh = u.ssh.filter((k) => k !== i.SSHPublicKeyId);
      return {};
    });
    this.handle("ListServiceSpecificCredentials", ListServiceSpecificCredentialsCommand, (i) => {
      const p = this.page(this.user(i.UserName).serviceCredentials, i.Marker);
      return {
        ServiceSpecificCredentials: p.items.map((ServiceSpecificCredentialId) => ({
          ServiceSpecificCredentialId,
          UserName: i.UserName,
          ServiceName: "codecommit.amazonaws.com",
          ServiceUserName: `${i.UserName}-at-123`,
          Status: "Active",
          CreateDate: new Date(),
        })),
        IsTruncated: p.IsTruncated,
        Marker: p.Marker,
      };
    });
    this.handle("DeleteServiceSpecificCredential", DeleteServiceSpecificCredentialCommand, (i) => {
      const u = this.user(i.UserName);
      u.serviceCredentials = u.serviceCredentials.filter((c) => c !== i.ServiceSpecificCredentialId);
      return {};
    });
    this.handle("ListAttachedUserPolicies", ListAttachedUserPoliciesCommand, (i) => {
      const p = this.page(this.user(i.UserName).managed, i.Marker);
      return {
        AttachedPolicies: p.items.map((PolicyArn) => ({ PolicyArn, PolicyName: PolicyArn.split("/").pop() })),
        IsTruncated: p.IsTruncated,
        Marker: p.Marker,
      };
    });
    this.handle("DetachUserPolicy", DetachUserPolicyCommand, (i) => {
      const u = this.user(i.UserName);
      u.managed = u.managed.filter((a) => a !== i.PolicyArn);
      return {};
    });
    this.handle("ListUserPolicies", ListUserPoliciesCommand, (i) => {
      const p = this.page([...this.user(i.UserName).inline.keys()], i.Marker);
      return { PolicyNames: p.items, IsTruncated: p.IsTruncated, Marker: p.Marker };
    });
    this.handle("DeleteUserPolicy", DeleteUserPolicyCommand, (i) => {
      const u = this.user(i.UserName);
      if (!u.inline.delete(i.PolicyName)) throw noSuchEntity(`The user policy with name ${i.PolicyName} cannot be found.`);
      return {};
    });
    this.handle("ListGroupsForUser", ListGroupsForUserCommand, (i) => {
      const p = this.page(this.user(i.UserName).groups, i.Marker);
      return {
        Groups: p.items.map((GroupName) => ({
          GroupName,
          Path: "/",
          GroupId: "AGPA",
          Arn: `arn:aws:iam::${ACCOUNT}:group/${GroupName}`,
          CreateDate: new Date(),
        })),
        IsTruncated: p.IsTruncated,
        Marker: p.Marker,
      };
    });
    this.handle("RemoveUserFromGroup", RemoveUserFromGroupCommand, (i) => {
      const u = this.user(i.UserName);
      u.groups = u.groups.filter((g) => g !== i.GroupName);
      return {};
    });
    this.handle("DeleteUser", DeleteUserCommand, (i) => {
      const u = this.user(i.UserName);
      const left = [
        u.keys.length && "access keys",
        u.loginProfile && "login profile",
        u.mfa.length && "MFA devices",
        u.certs.length && "signing certificates",
        u.ssh.length && "SSH public keys",
        u.serviceCredentials.length && "service-specific credentials",
        u.managed.length && "attached policies",
        u.inline.size && "inline policies",
        u.groups.length && "groups",
      ].filter(Boolean);
      if (left.length > 0) {
        // Real IAM's wording, e.g. "Cannot delete entity, must delete access keys first."
        throw new DeleteConflictException({ message: `Cannot delete entity, must delete ${left[0]} first.`, $metadata: { httpStatusCode: 409 } });
      }
      this.users.delete(i.UserName);
      return {};
    });
    this.handle("ListUsers", ListUsersCommand, (i) => {
      const p = this.page([...this.users.values()], i.Marker);
      return {
        Users: p.items.map((u) => ({ UserName: u.name, Path: u.path, UserId: "AIDA", Arn: `arn:aws:iam::${ACCOUNT}:user/${u.name}`, CreateDate: new Date() })),
        IsTruncated: p.IsTruncated,
        Marker: p.Marker,
      };
    });
    this.handle("GetUser", GetUserCommand, (i) => {
      const u = this.user(i.UserName);
      return { User: { UserName: u.name, Path: u.path, UserId: "AIDAFAKE", Arn: `arn:aws:iam::${ACCOUNT}:user${u.path}${u.name}`, CreateDate: new Date() } };
    });
    this.handle("ListUserTags", ListUserTagsCommand, (i) => {
      const p = this.page(this.user(i.UserName).tags, i.Marker);
      return { Tags: p.items, IsTruncated: p.IsTruncated, Marker: p.Marker };
    });
  }

  /** Everything still attached to a user (empty list = bare). */
  leftovers(name: string): string[] {
    const u = this.users.get(name);
    if (!u) return [];
    return [
      ...u.keys.map((k) => `key ${k}`),
      ...(u.loginProfile ? ["login profile"] : []),
      ...u.mfa.map((m) => `mfa ${m}`),
      ...u.certs.map((c) => `cert ${c}`),
      ...u.ssh.map((s) => `ssh ${s}`),
      ...u.serviceCredentials.map((s) => `ssc ${s}`),
      ...u.managed.map((a) => `managed ${a}`),
      ...[...u.inline.keys()].map((n) => `inline ${n}`),
      ...u.groups.map((g) => `group ${g}`),
    ];
  }
}
