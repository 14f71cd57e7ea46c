// The AWS clients a test hands the AWS functions: built from the engine settings,
// as withAwsClients builds them in the provider and the CLI.
import { awsClients, type AwsClients } from "../../provider/aws/clients";
import type { MountSettings } from "../../provider/types";

export function clientsFor(engine: MountSettings): AwsClients {
  return awsClients(engine);
}
