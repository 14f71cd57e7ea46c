// awslease: Vault's AWS secrets engine as Pulumi dynamic resources.
export { AwsEngineConfig, type AwsEngineConfigArgs } from "./engineConfig";
export { AwsRole, type AwsRoleArgs, type RoleRef } from "./role";
export { AwsLease, type AwsLeaseArgs, type LeaseState } from "./lease";
export { AwsStaticRole, type AwsStaticRoleArgs, type StaticRoleState } from "./staticRole";
export type { CredentialType, MountSettings, RoleSettings, LeaseRequest, IssuedLease } from "./types";
export { CREDENTIAL_TYPES } from "./types";
export { type EngineConfigInput, type RoleInput, type LeaseInput, type StaticRoleInput, type StaticRoleSettings } from "./validation";
export { ValidationError } from "./errors";
