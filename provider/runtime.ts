// Loaded by the serialized provider shim (see shim.ts) inside the provider process.
import { engineOperations } from "./engineConfig";
import { roleOperations } from "./role";
import { leaseOperations, setCurrentMountSettings } from "./lease";
import { staticRoleOperations } from "./staticRole";

export const operations = { engine: engineOperations, role: roleOperations, lease: leaseOperations, staticRole: staticRoleOperations };

/** For the server's warm provider process (service/pulumi/warmProviderProcess.ts). */
export { setCurrentMountSettings };
